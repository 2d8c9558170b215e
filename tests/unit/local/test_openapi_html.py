"""The offline HTML reference rendered from an OpenAPI document."""

from __future__ import annotations

from html.parser import HTMLParser
from typing import Any

from juki_local.openapi_html import render

SPEC: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "住民記録 API", "version": "1.0.0", "description": "閉域網内の前段システム向け"},
    "paths": {
        "/residents/{person_id}": {
            "parameters": [
                {
                    "name": "person_id",
                    "in": "path",
                    "required": True,
                    "schema": {"type": "string"},
                    "description": "宛名番号",
                },
            ],
            "get": {
                "summary": "住民票を照会する",
                "description": "指定した日時点の住民票を返す。\n支援措置の対象者は <制限> される。",
                "parameters": [
                    {
                        "name": "as_of",
                        "in": "query",
                        "schema": {"type": "string", "format": "date"},
                        "description": "基準日",
                    },
                ],
                "responses": {
                    "200": {
                        "description": "住民票",
                        "content": {
                            "application/json": {"schema": {"$ref": "#/components/schemas/Resident"}}
                        },
                    },
                    "404": {"$ref": "#/components/responses/NotFound"},
                },
            },
        },
        "/movements": {
            "post": {
                "summary": "異動を仮登録する",
                "requestBody": {
                    "required": True,
                    "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Movement"}}},
                },
                "responses": {"202": {"description": "仮登録した"}},
            }
        },
    },
    "components": {
        "responses": {"NotFound": {"description": "該当者なし"}},
        "schemas": {
            "Resident": {
                "type": "object",
                "required": ["person_id", "family_name"],
                "properties": {
                    "person_id": {"type": "string", "description": "宛名番号（チェックデジット付き）"},
                    "family_name": {"type": "string", "description": "氏"},
                    "alias": {"anyOf": [{"type": "string"}, {"type": "null"}], "description": "通称"},
                    "address": {"$ref": "#/components/schemas/Address"},
                    "history": {"type": "array", "items": {"$ref": "#/components/schemas/Resident"}},
                },
            },
            "Address": {
                "type": "object",
                "required": ["town"],
                "properties": {
                    "town": {"type": "string", "description": "町字"},
                    "katagaki": {"type": "string", "description": "方書 <建物名>"},
                },
            },
            "Movement": {
                "allOf": [{"$ref": "#/components/schemas/MovementBase"}],
                "properties": {
                    "kind": {"type": "string", "enum": ["転入", "転居", "転出"], "description": "異動事由"}
                },
                "required": ["kind"],
            },
            "MovementBase": {
                "type": "object",
                "required": ["effective_date"],
                "properties": {
                    "effective_date": {"type": "string", "format": "date", "description": "異動日"}
                },
            },
        },
    },
}


class _Checker(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parsed(page: str) -> _Checker:
    checker = _Checker()
    checker.feed(page)
    return checker


def test_page_is_self_contained_html() -> None:
    page = render(SPEC, "Juki API <local>")
    assert page.startswith("<!DOCTYPE html>")
    assert "<title>Juki API &lt;local&gt;</title>" in page
    checker = _parsed(page)
    assert "script" not in checker.tags
    assert "link" not in checker.tags
    assert "style" in checker.tags
    assert "http://" not in page
    assert "https://" not in page


def test_operations_are_listed_with_summaries_and_descriptions() -> None:
    text = "".join(_parsed(render(SPEC, "Juki API")).text)
    assert "/residents/{person_id}" in text
    assert "住民票を照会する" in text
    assert "異動を仮登録する" in text
    assert "支援措置の対象者は <制限> される。" in text


def test_text_from_the_spec_is_escaped() -> None:
    page = render(SPEC, "Juki API")
    assert "<制限>" not in page
    assert "&lt;制限&gt;" in page
    assert "方書 &lt;建物名&gt;" in page


def test_parameters_include_path_level_ones() -> None:
    text = "".join(_parsed(render(SPEC, "Juki API")).text)
    assert "person_id" in text
    assert "宛名番号" in text
    assert "as_of" in text
    assert "string (date)" in text


def test_refs_are_resolved_into_property_tables() -> None:
    page = render(SPEC, "Juki API")
    text = "".join(_parsed(page).text)
    assert "宛名番号（チェックデジット付き）" in text
    assert "address.town" in text
    assert "町字" in text
    assert "string | null" in text
    assert "array<Resident>" in text
    assert "該当者なし" in text
    assert 'href="#schema-Resident"' in page


def test_all_of_is_merged_and_required_is_marked() -> None:
    page = render(SPEC, "Juki API")
    assert "effective_date" in page
    assert "異動日" in page
    assert "enum: 転入, 転居, 転出" in page
    row = page[page.index("<code>kind</code>") :]
    assert row[: row.index("</tr>")].count('class="req"') == 1


def test_recursive_schema_does_not_loop() -> None:
    page = render(SPEC, "Juki API")
    assert page.count("history[].history") == 0


def test_empty_spec_renders() -> None:
    page = render({}, "空")
    assert "<h1>空</h1>" in page
