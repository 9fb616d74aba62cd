"""Sphinx configuration: MyST Markdown pages, the Furo theme, and the pages generated from the
package itself (the API from ``openapi.yaml``, the errors from ``error_catalog.py``, each
provider's preset). Build: ``tox -e docs`` (warnings are errors)."""

from __future__ import annotations

import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent
sys.path[:0] = [str(DOCS / "_ext"), str(DOCS.parent)]

import trusted_auth  # noqa: E402  (after the path above: the checkout, not another install)

project = "trusted_auth"
author = "trusted_auth contributors"
copyright = "trusted_auth contributors"
release = version = trusted_auth.__version__

extensions = ["myst_parser", "trusted_auth_docs"]
source_suffix = {".md": "markdown"}
root_doc = "index"
exclude_patterns = ["_build", "_generated"]

# Internal links are checked: a MyST link to a page or heading that does not exist is a warning,
# and `-W` makes it an error. Every heading of level 1-3 gets a GitHub-style anchor.
myst_heading_anchors = 3
myst_enable_extensions = ["colon_fence", "deflist"]
nitpicky = True

html_theme = "furo"
html_title = f"trusted_auth {release}"
html_static_path: list[str] = []
html_show_sourcelink = False
# No CDN and no network at build time: Furo ships its own assets.
