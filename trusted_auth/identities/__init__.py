"""Identities: users, identity links, organizations and members, and the searches over them.

Data access only: the link policy lives in the adapter (``trusted_auth.adapter``).
"""
