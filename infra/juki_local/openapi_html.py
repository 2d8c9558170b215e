"""A self-contained HTML reference for an OpenAPI 3 document: no CDN, no JavaScript, for a closed network.

Every operation is listed with its summary, description, parameters, request body and responses; schemas
are expanded into tables of properties (name, type, required, description) with `$ref`s resolved.
"""

from __future__ import annotations

import re
from html import escape
from typing import Any, NamedTuple

_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
_MAX_DEPTH = 6

_CSS = """
body{font-family:"Hiragino Sans","Noto Sans JP","Yu Gothic",Meiryo,sans-serif;margin:0;color:#1f2328;
background:#f6f8fa;line-height:1.6}
header{background:#0b3d91;color:#fff;padding:1.2rem 2rem}header h1{margin:0;font-size:1.6rem}
header p{margin:.3rem 0 0}main{max-width:1100px;margin:0 auto;padding:1rem 2rem 3rem}
nav ul{list-style:none;padding:0;columns:2}nav li{margin:.15rem 0}a{color:#0b3d91}
section.op{background:#fff;border:1px solid #d0d7de;border-radius:6px;margin:1.2rem 0;padding:.8rem 1.2rem}
h2{font-size:1.15rem;margin:.2rem 0 .5rem}h3{font-size:1rem;margin:1rem 0 .3rem;color:#444}
.method{display:inline-block;min-width:4.2em;text-align:center;border-radius:4px;color:#fff;
font-family:monospace;font-size:.9rem;padding:.1rem .4rem;margin-right:.5rem;background:#6e7781}
.get{background:#1f7a3a}.post{background:#0b5cad}.put{background:#9a6700}.patch{background:#8250df}
.delete{background:#cf222e}code{font-family:Menlo,Consolas,monospace;font-size:.92em}
table{border-collapse:collapse;width:100%;margin:.3rem 0;font-size:.92rem}
th,td{border:1px solid #d0d7de;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#f0f3f6}.desc{white-space:pre-wrap}.req{color:#cf222e;font-weight:bold}
.muted{color:#6e7781}.schema-name{font-family:monospace;color:#6e7781;font-size:.85rem}
"""


class _Row(NamedTuple):
    name: str
    type_text: str
    required: bool
    description: str


def render(spec: dict[str, Any], title: str) -> str:
    """The whole page for `spec`; `title` heads it (the spec's own info.title is shown beneath)."""
    info = spec.get("info") or {}
    operations = list(_operations(spec))
    parts = [
        "<!DOCTYPE html>",
        '<html lang="ja"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>",
        f"<header><h1>{escape(title)}</h1>",
        f"<p>{escape(str(info.get('title', '')))} {_version(info)}</p></header><main>",
    ]
    if info.get("description"):
        parts.append(f'<p class="desc">{escape(str(info["description"]))}</p>')
    parts.append("<nav><h2>目次</h2><ul>")
    for method, path, operation, anchor in operations:
        summary = escape(str(operation.get("summary", "")))
        parts.append(
            f'<li><a href="#{anchor}"><span class="method {method}">{method.upper()}</span>'
            f"<code>{escape(path)}</code></a> {summary}</li>"
        )
    parts.append("</ul></nav>")
    for method, path, operation, anchor in operations:
        parts.append(_operation_html(spec, method, path, operation, anchor))
    schemas = (spec.get("components") or {}).get("schemas") or {}
    if schemas:
        parts.append('<section class="op"><h2 id="schemas">スキーマ</h2>')
        for name, schema in schemas.items():
            parts.append(f'<h3 id="schema-{_slug(name)}">{escape(name)}</h3>')
            parts.append(_schema_html(spec, schema, f"#/components/schemas/{name}"))
        parts.append("</section>")
    parts.append("</main></body></html>")
    return "\n".join(parts)


def _version(info: dict[str, Any]) -> str:
    return f'<span class="muted">v{escape(str(info["version"]))}</span>' if info.get("version") else ""


def _operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any], str]]:
    found = []
    for path, item in (spec.get("paths") or {}).items():
        for method in _METHODS:
            operation = item.get(method)
            if isinstance(operation, dict):
                merged = dict(operation)
                merged["parameters"] = [*item.get("parameters", []), *operation.get("parameters", [])]
                found.append((method, path, merged, f"op-{method}-{_slug(path)}"))
    return found


def _operation_html(
    spec: dict[str, Any], method: str, path: str, operation: dict[str, Any], anchor: str
) -> str:
    parts = [
        f'<section class="op" id="{anchor}">',
        f'<h2><span class="method {method}">{method.upper()}</span><code>{escape(path)}</code></h2>',
    ]
    if operation.get("summary"):
        parts.append(f"<p><strong>{escape(str(operation['summary']))}</strong></p>")
    if operation.get("description"):
        parts.append(f'<p class="desc">{escape(str(operation["description"]))}</p>')
    if operation.get("operationId"):
        parts.append(f'<p class="schema-name">operationId: {escape(str(operation["operationId"]))}</p>')
    parameters = [_resolve(spec, parameter) for parameter in operation["parameters"]]
    if parameters:
        parts.append("<h3>パラメータ</h3>")
        parts.append(_parameters_html(spec, parameters))
    body = _resolve(spec, operation.get("requestBody") or {})
    if body:
        required = " <span class='req'>必須</span>" if body.get("required") else ""
        parts.append(f"<h3>リクエスト本文{required}</h3>")
        if body.get("description"):
            parts.append(f'<p class="desc">{escape(str(body["description"]))}</p>')
        parts.append(_content_html(spec, body.get("content") or {}))
    responses = operation.get("responses") or {}
    if responses:
        parts.append("<h3>レスポンス</h3>")
        for status, response in responses.items():
            resolved = _resolve(spec, response)
            description = escape(str(resolved.get("description", "")))
            parts.append(f"<p><code><strong>{escape(str(status))}</strong></code> {description}</p>")
            parts.append(_content_html(spec, resolved.get("content") or {}))
    parts.append("</section>")
    return "\n".join(parts)


def _parameters_html(spec: dict[str, Any], parameters: list[dict[str, Any]]) -> str:
    rows = [
        "<table><tr><th>名前</th><th>場所</th><th>型</th><th>必須</th><th>説明</th></tr>",
    ]
    for parameter in parameters:
        schema = parameter.get("schema") or {}
        rows.append(
            f"<tr><td><code>{escape(str(parameter.get('name', '')))}</code></td>"
            f"<td>{escape(str(parameter.get('in', '')))}</td>"
            f"<td><code>{escape(_type_text(spec, schema))}</code></td>"
            f"<td>{_required_mark(bool(parameter.get('required')))}</td>"
            f'<td class="desc">{escape(str(parameter.get("description") or schema.get("description", "")))}'
            "</td></tr>"
        )
    rows.append("</table>")
    return "\n".join(rows)


def _content_html(spec: dict[str, Any], content: dict[str, Any]) -> str:
    parts = []
    for media_type, media in content.items():
        schema = (media or {}).get("schema")
        parts.append(f'<p class="schema-name">{escape(media_type)}{_ref_label(schema)}</p>')
        if schema:
            parts.append(_schema_html(spec, schema))
    return "\n".join(parts)


def _schema_html(spec: dict[str, Any], schema: dict[str, Any], ref: str | None = None) -> str:
    resolved = _resolve(spec, schema)
    own_ref = ref or schema.get("$ref")
    rows = _property_rows(spec, resolved, "", frozenset({own_ref} if own_ref else ()), 0)
    if not rows:
        description = resolved.get("description")
        text = f' <span class="desc">{escape(str(description))}</span>' if description else ""
        return f"<p><code>{escape(_type_text(spec, schema))}</code>{text}</p>"
    lines = ["<table><tr><th>項目</th><th>型</th><th>必須</th><th>説明</th></tr>"]
    lines.extend(
        f"<tr><td><code>{escape(row.name)}</code></td><td><code>{escape(row.type_text)}</code></td>"
        f'<td>{_required_mark(row.required)}</td><td class="desc">{escape(row.description)}</td></tr>'
        for row in rows
    )
    lines.append("</table>")
    return "\n".join(lines)


def _property_rows(
    spec: dict[str, Any], schema: dict[str, Any], prefix: str, seen: frozenset[str], depth: int
) -> list[_Row]:
    """One row per property, nested objects and arrays of objects expanded with dotted names.

    `seen` holds the `$ref`s being expanded on the way here, so a recursive schema is named, not repeated.
    """
    if depth > _MAX_DEPTH:
        return []
    merged = _merge_all_of(spec, schema)
    required = set(merged.get("required") or ())
    rows: list[_Row] = []
    for name, prop in (merged.get("properties") or {}).items():
        resolved = _resolve(spec, prop)
        description = str(prop.get("description") or resolved.get("description") or "")
        full_name = f"{prefix}{name}"
        rows.append(_Row(full_name, _type_text(spec, prop), name in required, description))
        target, suffix, refs = _nested_object(spec, prop)
        if target is not None and not refs & seen:
            rows.extend(_property_rows(spec, target, f"{full_name}{suffix}.", seen | refs, depth + 1))
    return rows


def _nested_object(
    spec: dict[str, Any], schema: dict[str, Any]
) -> tuple[dict[str, Any] | None, str, frozenset[str]]:
    """The object schema to expand beneath a property, the name suffix (`[]` for array items), and the
    `$ref`s followed to reach it."""
    refs: set[str] = set()
    candidate = _follow(spec, schema, refs)
    suffix = ""
    if candidate.get("type") == "array" and isinstance(candidate.get("items"), dict):
        candidate, suffix = _follow(spec, candidate["items"], refs), "[]"
    options = candidate.get("anyOf") or candidate.get("oneOf")
    if isinstance(options, list):
        concrete = [option for option in options if option.get("type") != "null"]
        if len(concrete) == 1:
            candidate = _follow(spec, concrete[0], refs)
    merged = _merge_all_of(spec, candidate)
    return (merged if merged.get("properties") else None), suffix, frozenset(refs)


def _follow(spec: dict[str, Any], schema: dict[str, Any], refs: set[str]) -> dict[str, Any]:
    if isinstance(schema.get("$ref"), str):
        refs.add(schema["$ref"])
    return _resolve(spec, schema)


def _merge_all_of(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    parts = schema.get("allOf")
    if not isinstance(parts, list):
        return schema
    merged: dict[str, Any] = {key: value for key, value in schema.items() if key != "allOf"}
    properties: dict[str, Any] = dict(merged.get("properties") or {})
    required: list[str] = list(merged.get("required") or ())
    for part in parts:
        resolved = _merge_all_of(spec, _resolve(spec, part))
        properties.update(resolved.get("properties") or {})
        required.extend(resolved.get("required") or ())
        merged.setdefault("description", resolved.get("description"))
    merged["properties"] = properties
    merged["required"] = required
    return merged


def _type_text(spec: dict[str, Any], schema: dict[str, Any] | None) -> str:
    """A short type label: `string (date)`, `array<Household>`, `string | null`, `enum: a, b`."""
    if not schema:
        return "any"
    ref = schema.get("$ref")
    if isinstance(ref, str):
        return ref.rsplit("/", 1)[-1]
    for key in ("anyOf", "oneOf"):
        if isinstance(schema.get(key), list):
            return " | ".join(_type_text(spec, option) for option in schema[key])
    if isinstance(schema.get("allOf"), list):
        return " & ".join(_type_text(spec, option) for option in schema["allOf"])
    kind = schema.get("type", "object" if "properties" in schema else "any")
    if isinstance(kind, list):
        kind = " | ".join(str(item) for item in kind)
    text = str(kind)
    if kind == "array":
        text = f"array<{_type_text(spec, schema.get('items'))}>"
    if schema.get("format"):
        text += f" ({schema['format']})"
    if isinstance(schema.get("enum"), list):
        text += " enum: " + ", ".join(str(value) for value in schema["enum"])
    if "pattern" in schema:
        text += f" pattern: {schema['pattern']}"
    return text


def _ref_label(schema: dict[str, Any] | None) -> str:
    if not schema or not isinstance(schema.get("$ref"), str):
        return ""
    name = schema["$ref"].rsplit("/", 1)[-1]
    return f' — <a href="#schema-{_slug(name)}">{escape(name)}</a>'


def _resolve(spec: dict[str, Any], node: Any) -> dict[str, Any]:
    """Follow `$ref` (local JSON pointers such as `#/components/schemas/X`) until a plain object."""
    seen: set[str] = set()
    while isinstance(node, dict) and isinstance(node.get("$ref"), str):
        ref = node["$ref"]
        if ref in seen or not ref.startswith("#/"):
            return {}
        seen.add(ref)
        target: Any = spec
        for token in ref[2:].split("/"):
            key = token.replace("~1", "/").replace("~0", "~")
            target = target.get(key) if isinstance(target, dict) else None
        node = target
    return node if isinstance(node, dict) else {}


def _required_mark(required: bool) -> str:
    return '<span class="req">○</span>' if required else ""


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-") or "root"
