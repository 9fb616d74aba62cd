"""The import graph of ``trusted_auth``: one way down the layers, and no cycle.

Every import counts, including those under ``if TYPE_CHECKING:`` and inside functions: a
cycle a type checker needs is still a cycle a reader has to hold in their head.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import trusted_auth

# Top to bottom. A module imports modules of its own layer or of a lower one, never a higher one.
LAYERS = [
    # entry points and host-facing glue (``testing`` is the pytest plugin for host projects)
    {"api", "admin", "management", "contrib", "browser", "backends", "checks", "urls"}
    | {"middleware", "testing", "apps", "authentication"},
    {"attest", "adapter", "oauth"},  # the flow, and the policy of who a token signs in as
    {"sessions", "identities", "issuers", "audit", "rbac"},  # the features: peers
    {"internal"},  # infrastructure
    {"models"},
    {"conf", "errors", "error_catalog", "ids", "timeutil", "signals", "__init__"},
]
LAYER = {feature: index for index, features in enumerate(LAYERS) for feature in features}

ROOT = Path(trusted_auth.__file__).parent


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {
    module_name(path): path
    for path in sorted(ROOT.rglob("*.py"))
    if "migrations" not in path.relative_to(ROOT).parts
}


def imported_names(module: str, path: Path) -> set[str]:
    """Every dotted name ``module`` imports, relative imports made absolute."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parent = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{parent}.{base}" if base else parent
            names.update(f"{base}.{alias.name}" for alias in node.names)
    return names


def our_module(name: str) -> str | None:
    """The module of ours ``name`` is (or is in): ``a.b.C`` is ``a.b`` when that is a module."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


GRAPH = {
    module: {
        target
        for name in imported_names(module, path)
        if (target := our_module(name)) is not None and target != module
    }
    for module, path in MODULES.items()
}


def feature(module: str) -> str:
    """``trusted_auth.identities.links`` -> ``identities``; the root package -> ``__init__``."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else "__init__"


def test_every_module_has_a_layer():
    assert {feature(module) for module in MODULES} - LAYER.keys() == set()


def test_no_module_imports_a_higher_layer():
    upward = sorted(
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        for target in targets
        if LAYER[feature(target)] < LAYER[feature(module)]
    )
    assert not upward, "\n".join(upward)


def test_no_import_cycle():
    try:
        graphlib.TopologicalSorter(GRAPH).prepare()
    except graphlib.CycleError as error:
        raise AssertionError("import cycle: " + " -> ".join(error.args[1])) from None
