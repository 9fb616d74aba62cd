"""``manage.py trusted_auth``: the command and its groups."""
