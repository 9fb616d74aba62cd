"""The Django admin as the product's dashboard, one module per aggregate; forms and views
parse input and call the same services as the CLI and the API."""

from . import audit, identities, keys, overview, profiles, rbac, sessions  # noqa: F401 - registers the admins
