"""The groups of ``manage.py trusted_auth``: one module per group, each with ``add_group``."""
