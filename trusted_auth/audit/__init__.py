"""Audit: the event rows every attest and change writes, structured logs, metrics, the overview.

Everything here records or reads what happened; nothing here decides whether a token is accepted.
"""
