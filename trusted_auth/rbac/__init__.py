"""Roles and permissions: the policy (``policy``), the roles a session holds (``roles``) and
the one evaluation of a permission (``checks``)."""
