"""The preset machinery: parameters, the registry, and the checks parameter values share."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from trusted_auth.errors import InvalidProfile

# A preset's builder: its parameter values in, plain profile fields out.
Builder = Callable[[dict[str, str]], dict[str, Any]]


class InvalidPresetParameters(InvalidProfile):
    """A preset name we do not have, or parameters it cannot build a profile from."""

    error_type = "invalid_preset"

    def __init__(self, message: str, *, parameter: str | None = None) -> None:
        super().__init__(message, field="preset")
        self.parameter = parameter


@dataclass(frozen=True)
class Parameter:
    """One value a preset needs from the user."""

    name: str
    help: str
    example: str
    required: bool = True
    default: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "required": self.required,
            "default": self.default,
            "example": self.example,
            "help": self.help,
        }


@dataclass(frozen=True)
class Preset:
    """An IdP: its parameters, and the function that builds profile fields from them."""

    name: str
    title: str
    parameters: tuple[Parameter, ...]
    build: Builder
    docs: tuple[str, ...]
    notes: str = ""
    audience_from: str = field(default="audience")

    @property
    def summary(self) -> str:
        """The first paragraph of the builder's docstring."""
        return " ".join((self.build.__doc__ or "").strip().split("\n\n", 1)[0].split())

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "title": self.title,
            "summary": self.summary,
            "parameters": [p.as_dict() for p in self.parameters],
            "audience_from": self.audience_from,
            "docs": list(self.docs),
            "notes": self.notes,
        }


PRESETS: dict[str, Preset] = {}
# A builder's attribute_mapping names only the claims that differ from these.
STANDARD_MAPPING = {"email": "email", "token_id": "jti", "external_user_id": "sub", "name": "name"}

_HOST = re.compile(
    r"^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+$"
)  # noqa: E501
_SLUG = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,199}$")


def register(
    name: str,
    title: str,
    *parameters: Parameter,
    notes: str = "",
    audience_from: str = "audience",
) -> Callable[[Builder], Builder]:
    """Register the decorated builder as preset ``name``; the URLs after ``Sources:`` in its
    docstring are the preset's ``docs``."""

    def add(build: Builder) -> Builder:
        docs = tuple(re.findall(r"https://\S+", (build.__doc__ or "").partition("Sources:")[2]))
        PRESETS[name] = Preset(name, title, parameters, build, docs, notes, audience_from)
        return build

    return add


def host(params: dict[str, str], name: str) -> str:
    """A bare host name (``acme.eu.auth0.com``); an https:// prefix or a trailing slash is
    refused with what to give instead, since the host is spliced into an exact issuer."""
    value = params[name]
    bare = re.sub(r"^https?://", "", value).rstrip("/")
    if bare != value or not _HOST.match(value):
        hint = f" (give {bare!r})" if bare != value and _HOST.match(bare) else ""
        raise InvalidPresetParameters(
            f"{name} must be a bare host name like {example(name)}{hint}", parameter=name
        )
    return value.lower()


def slug(params: dict[str, str], name: str) -> str:
    value = params[name]
    if not _SLUG.match(value):
        raise InvalidPresetParameters(
            f"{name} must be letters, digits, '-', '_' or '.', like {example(name)}",
            parameter=name,
        )
    return value


_EXAMPLES: dict[str, str] = {}


def example(name: str) -> str:
    return _EXAMPLES.get(name, "…")


def param(name: str, help: str, example: str, **kwargs: Any) -> Parameter:
    _EXAMPLES.setdefault(name, example)
    return Parameter(name, help, example, **kwargs)


def guid(value: str, name: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError as e:
        raise InvalidPresetParameters(
            f"{name} must be a GUID like {example(name)}", parameter=name
        ) from e


# Using them ----------------------------------------------------------------------------------


def get_preset(name: str) -> Preset:
    """The preset called ``name``, or ``InvalidPresetParameters`` listing the ones we have."""
    preset = PRESETS.get(name)
    if preset is None:
        raise InvalidPresetParameters(
            f"no preset {name[:40]!r}; presets: {', '.join(PRESETS)}", parameter="preset"
        )
    return preset


def build_preset(name: str, params: Mapping[str, str]) -> dict[str, Any]:
    """Profile fields (name, issuer, audience, jwks_url, algorithms, attribute_mapping,
    untrusted_claims) for preset ``name`` from its parameters. Unknown or missing parameters,
    and values that cannot be what the IdP uses, raise ``InvalidPresetParameters`` naming the
    parameter."""
    preset = get_preset(name)
    known = {p.name: p for p in preset.parameters}
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise InvalidPresetParameters(
            f"preset {name} takes {', '.join(known)}; not {', '.join(unknown)}",
            parameter=unknown[0],
        )
    values: dict[str, str] = {}
    for parameter in preset.parameters:
        value = (params.get(parameter.name) or "").strip()
        if not value and parameter.default is not None:
            value = parameter.default
        if not value and parameter.required:
            raise InvalidPresetParameters(
                f"preset {name} needs {parameter.name}: {parameter.help} "
                f"(--param {parameter.name}={parameter.example})",
                parameter=parameter.name,
            )
        if value:
            values[parameter.name] = value
    fields = preset.build(values)
    mapping = {**STANDARD_MAPPING, **fields.pop("attribute_mapping", {})}
    untrusted = fields.pop("untrusted_claims", [])
    return {**fields, "attribute_mapping": mapping, "untrusted_claims": untrusted}


def list_presets() -> list[dict[str, Any]]:
    """Every preset with its parameters, as plain data (``trusted_auth presets``)."""
    return [preset.as_dict() for preset in PRESETS.values()]
