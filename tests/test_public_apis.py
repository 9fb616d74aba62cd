"""The app uses Django, DRF, PyJWT and the cache only through their public APIs.

Private attributes change without notice between releases; each one is a line a reviewer must
re-audit on every upgrade. This scans every module of ``trusted_auth/`` (migrations excepted) and
lists each use as ``file:line``.
"""

from __future__ import annotations

import re
from pathlib import Path

import trusted_auth

PACKAGE = Path(trusted_auth.__file__).parent

# Names only framework internals have: SQL compilers, row populators, model state, the cache
# client, private form and formset hooks.
PRIVATE_NAMES = [
    "klass_info",
    "get_related_populators",
    "InsertQuery",
    "returning_fields",
    "get_compiler",
    "get_converters",
    "apply_converters",
    "last_insert_id",
    "_meta.parents",
    "concrete_fields",  # not in the documented Options API: _meta.get_fields() is
    "local_concrete_fields",
    "_declared_fields",
    "_state",
    "_for_write",
    "cache._cache",
    "._cache.",
    "get_client(",
    "_should_delete_form",
    "_errors",
    "_post_clean",
    "_update_errors",
]
NAME_PATTERNS = {
    name: re.compile(
        ("(?<!\\w)" if name[0].isalnum() or name[0] == "_" else "")
        + re.escape(name)
        + ("(?!\\w)" if name[-1].isalnum() or name[-1] == "_" else "")
    )
    for name in PRIVATE_NAMES
}
# ``x._name``: an underscore attribute reached on anything but our own ``self`` or ``cls``
# (``super()._hook`` included). Django documents these three underscore names.
ATTRIBUTE = re.compile(r"(\.?)([\w)\]]+)\.(_[a-z]\w*)")
PUBLIC_UNDERSCORE = {"_meta", "_default_manager", "_base_manager"}

# The private uses that stay, each with its reason: (file under trusted_auth/, name).
ALLOWED = {
    # The profile's model form merges the model's own clean() errors into its own: Django has
    # no public hook after model validation (``_post_clean``) nor one that filters the errors
    # it adds (``_update_errors``). Both are ModelForm methods Django's own forms override.
    ("admin/forms.py", "_post_clean"),
    ("admin/forms.py", "_update_errors"),
    # The JWKS fetcher checks the address a socket actually connected to (the SSRF guard,
    # after DNS): urllib3 has no public hook between connect and the TLS handshake.
    ("issuers/jwks_http.py", "_new_conn"),
}


def private_uses(root: Path = PACKAGE) -> list[str]:
    found = []
    for path in sorted(root.rglob("*.py")):
        relative = path.relative_to(root).as_posix()
        if relative.startswith("migrations/"):
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            code = line.split("#", 1)[0]
            names = [name for name, pattern in NAME_PATTERNS.items() if pattern.search(code)]
            names += [
                attribute
                for dot, receiver, attribute in ATTRIBUTE.findall(code)
                if attribute not in PUBLIC_UNDERSCORE and (dot or receiver not in ("self", "cls"))
            ]
            found += [
                f"trusted_auth/{relative}:{number}: {name}: {line.strip()}"
                for name in dict.fromkeys(names)
                if (relative, name) not in ALLOWED
            ]
    return found


def test_no_private_framework_attributes():
    uses = private_uses()
    assert not uses, "private framework attributes:\n" + "\n".join(uses)


def test_the_scan_reports_each_kind_of_private_use(tmp_path):
    (tmp_path / "internal").mkdir()
    (tmp_path / "internal" / "planted.py").write_text(
        "client = self.cache._cache.get_client(None, write=True)\n"
        "plan = compiler.klass_info\n"
        "obj._state.adding = False\n"
        "rows = queryset._result_cache\n"
        "super()._post_clean()\n"
        "fine = self._lock, Model._meta.get_field('x'), Model._default_manager  # obj._x\n"
        "errors = form.non_field_errors()\n"
    )
    (tmp_path / "migrations").mkdir()
    (tmp_path / "migrations" / "0001.py").write_text("obj._state.db = 'default'\n")
    lines = {use.split(":")[1] for use in private_uses(tmp_path)}
    assert lines == {"1", "2", "3", "4", "5"}
