"""Glue for host projects: framework integrations that live outside the service layer."""
