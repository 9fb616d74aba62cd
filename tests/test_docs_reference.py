"""The documentation site covers what the package has: every setting on the Settings page, and
every provider preset on a page of its own (whose tables are generated from the preset)."""

from __future__ import annotations

import re

import pytest

from tests.gunicorn_server import REPOSITORY
from trusted_auth.conf import DEFAULTS
from trusted_auth.issuers.presets import PRESETS

DOCS = REPOSITORY / "docs"


def test_every_setting_is_on_the_settings_page():
    page = (DOCS / "reference" / "settings.md").read_text()
    documented = set(re.findall(r"^\| `([A-Z_]+)`(?: / `([A-Z_]+)`)?", page, re.M))
    names = {name for pair in documented for name in pair if name}
    missing = sorted(set(DEFAULTS) - names)
    assert not missing, f"document these in docs/reference/settings.md: {missing}"


@pytest.mark.parametrize("preset", sorted(PRESETS))
def test_every_preset_has_its_provider_page(preset):
    page = DOCS / "providers" / f"{preset}.md"
    assert page.exists(), f"write docs/providers/{preset}.md"
    text = page.read_text()
    assert f"```{{include}} ../_generated/presets/{preset}.md" in text
    assert "## Claims your users can write" in text
    assert f"\n{preset}\n" in (DOCS / "providers" / "index.md").read_text()  # in the toctree
