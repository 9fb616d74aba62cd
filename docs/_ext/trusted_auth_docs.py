"""The reference pages Sphinx builds from the package itself, so they cannot drift from it:

- ``api.md`` from ``trusted_auth/openapi.yaml`` (every operation, its fields and answers);
- ``errors.md`` from ``trusted_auth/error_catalog.py`` (one anchor per ``error_type``, the same
  ids the deployment's own ``/trusted_auth/errors`` page uses, so ``ERROR_DOCS_URL`` may point
  here);
- ``presets/<name>.md`` from ``trusted_auth/issuers/presets/`` (parameters and the profile a
  preset fills in).

Each is MyST Markdown written to ``docs/_generated/`` when the build starts and pulled into a
page with ``{include}``. The functions return text and import no Sphinx, so tests can call them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

DOCS = Path(__file__).resolve().parent.parent
GENERATED = DOCS / "_generated"
OPENAPI = DOCS.parent / "trusted_auth" / "openapi.yaml"
METHODS = ("get", "post", "put", "patch", "delete")


def cell(text: Any) -> str:
    """One Markdown table cell: on one line, pipes and angle brackets escaped."""
    return " ".join(str(text).split()).replace("|", "\\|").replace("<", "\\<")


# --- errors -------------------------------------------------------------------------------------


def errors_markdown() -> str:
    """The Errors reference table, one ``<a id="error_type">`` anchor per row."""
    from trusted_auth.error_catalog import ERRORS

    lines = ["| error_type | status | meaning | fix |", "| --- | ---: | --- | --- |"]
    for name, info in ERRORS.items():
        lines.append(
            f'| <a id="{name}"></a>`{name}` | {info.status} | {cell(info.meaning)} '
            f"| {cell(info.fix)} |"
        )
    return "\n".join(lines) + "\n"


# --- presets ------------------------------------------------------------------------------------


def preset_markdown(name: str) -> str:
    """A preset's parameters and the profile it fills in from their example values."""
    from trusted_auth.issuers.presets import build_preset, get_preset

    preset = get_preset(name)
    lines = ["| `--param` | required | example | what it is |", "| --- | --- | --- | --- |"]
    for parameter in preset.parameters:
        required = "yes" if parameter.required else f"no (default `{parameter.default}`)"
        lines.append(
            f"| `{parameter.name}` | {required} | `{parameter.example}` | {cell(parameter.help)} |"
        )
    example = {p.name: p.example for p in preset.parameters}
    fields = build_preset(name, example)
    params = " ".join(f"{key}={value}" for key, value in example.items())
    lines += [
        "",
        "With the example values,",
        "",
        "```sh",
        f"python manage.py trusted_auth profile create --preset {name} --param {params}",
        "```",
        "",
        "fills in this profile (any other flag overrides a field):",
        "",
        "| field | value |",
        "| --- | --- |",
    ]
    for field, value in fields.items():
        if field == "attribute_mapping":
            continue
        if isinstance(value, list) and not value:
            lines.append(f"| `{field}` | (none) |")
            continue
        shown = ", ".join(value) if isinstance(value, list) else value
        lines.append(f"| `{field}` | `{cell(shown)}` |")
    lines += ["", "| attribute | claim it is read from |", "| --- | --- |"]
    for attribute, claim in fields["attribute_mapping"].items():
        lines.append(f"| `{attribute}` | `{claim}` |")
    if preset.notes:
        lines += ["", f"Note from the preset: {preset.notes}"]
    lines += ["", "The provider's documents this preset follows:", ""]
    lines += [f"- <{url}>" for url in preset.docs]
    return "\n".join(lines) + "\n"


# --- the API ------------------------------------------------------------------------------------


class OpenAPI:
    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document

    def resolve(self, node: dict[str, Any]) -> dict[str, Any]:
        while "$ref" in node:
            target: Any = self.document
            for part in node["$ref"].removeprefix("#/").split("/"):
                target = target[part]
            node = target
        return node

    def type_of(self, schema: dict[str, Any]) -> str:
        if "$ref" in schema:
            return schema["$ref"].rsplit("/", 1)[1]
        if "oneOf" in schema or "anyOf" in schema:
            return " or ".join(self.type_of(s) for s in schema.get("oneOf", schema.get("anyOf")))
        kind = schema.get("type", "object" if "properties" in schema else "any")
        kinds = kind if isinstance(kind, list) else [kind]
        words = []
        for one in kinds:
            if one == "array":
                words.append(f"array of {self.type_of(schema.get('items', {}))}")
            else:
                words.append(str(one))
        text = " or ".join(words)
        if "enum" in schema and len(schema["enum"]) <= 8:
            text += ": " + ", ".join(f"`{v}`" for v in schema["enum"])
        if "const" in schema:
            text += f" `{schema['const']}`"
        return text

    def fields(self, schema: dict[str, Any]) -> tuple[dict[str, Any], set[str]]:
        """The properties of an object schema, ``allOf`` parts merged, and the required ones."""
        schema = self.resolve(schema)
        properties: dict[str, Any] = {}
        required: set[str] = set(schema.get("required", ()))
        for part in schema.get("allOf", ()):
            more, more_required = self.fields(part)
            properties.update(more)
            required |= more_required
        properties.update(schema.get("properties", {}))
        return properties, required

    def field_table(self, schema: dict[str, Any]) -> list[str]:
        properties, required = self.fields(schema)
        if not properties:
            return []
        lines = ["| field | type | required | notes |", "| --- | --- | --- | --- |"]
        for name, field in properties.items():
            notes = cell(field.get("description", ""))
            lines.append(
                f"| `{name}` | {cell(self.type_of(field))} | "
                f"{'yes' if name in required else ''} | {notes} |"
            )
        return lines

    def auth(self, operation: dict[str, Any]) -> str:
        security = operation.get("security", self.document.get("security", []))
        if not security:
            return "none (public)"
        schemes = self.document["components"]["securitySchemes"]
        names = [name for requirement in security for name in requirement]
        return "; ".join(
            f"HTTP {schemes[n]['scheme'].capitalize()} ({cell(schemes[n]['description'])})"
            for n in names
        ).replace(".)", ")")

    def markdown(self) -> str:
        info = self.document["info"]
        out = [info["description"].strip(), ""]
        by_tag: dict[str, list[tuple[str, str, dict[str, Any]]]] = {
            tag["name"]: [] for tag in self.document.get("tags", [])
        }
        for path, item in self.document["paths"].items():
            for method in METHODS:
                if method in item:
                    operation = item[method]
                    by_tag.setdefault(operation["tags"][0], []).append((method, path, operation))
        for tag, operations in by_tag.items():
            out += [f"## {tag.capitalize()}", ""]
            for method, path, operation in operations:
                out += self.operation(method, path, operation)
        out += ["## Schemas", ""]
        for name, schema in self.document["components"]["schemas"].items():
            out += [f"(schema-{name})=", f"### {name}", ""]
            if schema.get("description"):
                out += [cell(schema["description"]), ""]
            table = self.field_table(schema)
            out += (table or [f"{cell(self.type_of(self.resolve(schema)))}"]) + [""]
        return "\n".join(out) + "\n"

    def operation(self, method: str, path: str, operation: dict[str, Any]) -> list[str]:
        out = [f"(api-{operation['operationId']})=", f"### `{method.upper()} {path}`", ""]
        out += [cell(operation.get("summary", "")), ""]
        if operation.get("description"):
            out += [operation["description"].strip(), ""]
        out += [f"Authentication: {self.auth(operation)}.", ""]
        parameters = [self.resolve(p) for p in operation.get("parameters", [])]
        if parameters:
            out += ["| parameter | in | required | notes |", "| --- | --- | --- | --- |"]
            for p in parameters:
                notes = cell(p.get("description", self.type_of(p.get("schema", {}))))
                out.append(
                    f"| `{p['name']}` | {p['in']} | {'yes' if p.get('required') else ''} "
                    f"| {notes} |"
                )
            out.append("")
        body = operation.get("requestBody")
        if body:
            for media, content in body["content"].items():
                schema = content.get("schema", {})
                out += [f"Request body ({media}): {self.schema_link(schema)}", ""]
        answers = []
        errors = []
        for status, response in operation["responses"].items():
            if "$ref" in response and response["$ref"].endswith("/Error"):
                errors.append(status)
                continue
            response = self.resolve(response)
            schemas = [c.get("schema", {}) for c in response.get("content", {}).values()]
            shape = f" ({self.schema_link(schemas[0])})" if schemas else ""
            answers.append(f"- {status}: {cell(response.get('description', ''))}{shape}")
        out += answers
        if errors:
            out.append(
                f"- {', '.join(errors)}: the [error envelope](#schema-ErrorResponse); "
                "see the [Errors reference](errors.md)."
            )
        out.append("")
        return out

    def schema_link(self, schema: dict[str, Any]) -> str:
        if "$ref" in schema and schema["$ref"].startswith("#/components/schemas/"):
            name = schema["$ref"].rsplit("/", 1)[1]
            return f"[{name}](#schema-{name})"
        return cell(self.type_of(schema))


def api_markdown() -> str:
    return OpenAPI(yaml.safe_load(OPENAPI.read_text())).markdown()


# --- Sphinx -------------------------------------------------------------------------------------


def write_generated(app: Any = None) -> None:
    """Write every generated page under ``docs/_generated/`` (only files whose text changed, so
    an incremental build does not reread every page)."""
    from trusted_auth.issuers.presets import PRESETS

    pages = {"api.md": api_markdown(), "errors.md": errors_markdown()}
    pages |= {f"presets/{name}.md": preset_markdown(name) for name in PRESETS}
    for name, text in pages.items():
        path = GENERATED / name
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)


def setup(app: Any) -> dict[str, Any]:
    app.connect("builder-inited", write_generated)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
