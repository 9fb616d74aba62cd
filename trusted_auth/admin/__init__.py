"""The Django admin as the product's dashboard, one module per aggregate.

Forms and views here parse input and call the feature services (``issuers``, ``identities``, ``sessions``, ``attest``), so the
admin, the CLI and the API share one code path for every rule.
"""

from . import audit, identities, keys, overview, profiles, sessions  # noqa: F401 - registers the admins
