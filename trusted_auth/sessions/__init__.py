"""Sessions: start, find, extend and revoke them; the session JWT and the signing keys behind it;
the server API secrets.
"""
