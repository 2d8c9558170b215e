"""docs/openapi.json is the contract calling systems build against: it must match the handlers."""

import json
from pathlib import Path

from juki_fn.api import openapi_schema
from juki_fn.permissions_doc import render

COMMITTED = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"


def test_committed_openapi_document_is_current() -> None:
    committed = json.loads(COMMITTED.read_text(encoding="utf-8"))
    assert committed == openapi_schema(), "run `make openapi` and commit docs/openapi.json"


def test_committed_permissions_document_is_current() -> None:
    committed = (COMMITTED.parent / "permissions.md").read_text(encoding="utf-8")
    assert committed == render(), "run `make openapi` and commit docs/permissions.md"


def test_every_operation_declares_both_credentials() -> None:
    spec = openapi_schema()
    assert spec["security"] == [{"sigv4": [], "staffToken": []}]
    schemes = spec["components"]["securitySchemes"]
    assert (schemes["sigv4"]["in"], schemes["sigv4"]["name"]) == ("header", "Authorization")
    assert (schemes["staffToken"]["in"], schemes["staffToken"]["name"]) == ("header", "X-Juki-Staff-Token")
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            assert operation.get("summary"), f"{method.upper()} {path} has no summary"
