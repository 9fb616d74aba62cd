"""Exchange JWTs issued by someone else for first-party, Stytch-compatible sessions."""

__version__ = "0.1.0"
