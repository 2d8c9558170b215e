"""The one error shape of the API: a stable code, a Japanese message, the field."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from juki.domain.errors import DomainError, Issue
from juki.domain.values import MovementKind
from pydantic import BaseModel, Field

# Japanese messages for pydantic's error types; anything else falls back to a general one.
_MESSAGES = {
    "missing": "必須の項目です",
    "json_invalid": "JSONの形式が正しくありません",
    "string_pattern_mismatch": "形式が正しくありません",
    "string_too_short": "文字数が足りません",
    "string_too_long": "文字数が多すぎます",
    "too_short": "件数が足りません",
    "too_long": "件数が多すぎます",
    "date_from_datetime_parsing": "日付は YYYY-MM-DD で入力してください",
    "date_parsing": "日付は YYYY-MM-DD で入力してください",
    "date_type": "日付は YYYY-MM-DD で入力してください",
    "enum": "選択肢にない値です",
    "literal_error": "選択肢にない値です",
    "extra_forbidden": "定義されていない項目です",
    "string_type": "文字列で入力してください",
    "model_attributes_type": "オブジェクトで入力してください",
    "dict_type": "オブジェクトで入力してください",
    "list_type": "配列で入力してください",
    "value_error": "値が正しくありません",
}


class UnsupportedMediaType(DomainError):
    status = 415


class ErrorDetail(BaseModel):
    code: str = Field(description="エラーのコード (安定)")
    message: str = Field(description="メッセージ")
    field: str | None = Field(description="対象の項目")
    issues: list[Issue] = Field(description="個々の指摘 (入力の形式・規則)")


class ErrorResponse(BaseModel):
    """Every refusal and failure of the API has this shape."""

    error: ErrorDetail


# Documented on every operation (and 400/415 on those with a body, 409 on those that change).
ERROR_STATUSES: dict[int, str] = {
    400: "本文を読み取れない (BODY_INVALID)",
    401: "職員の認証に失敗 (TOKEN_*, STAFF_*)",
    403: "権限がない・抑止されている (PERMISSION_DENIED など)",
    404: "対象または操作が見つからない",
    409: "同時の変更・状態が合わない",
    415: "本文が application/json でない (UNSUPPORTED_MEDIA_TYPE)",
    422: "入力の形式・規則の誤り (VALIDATION_ERROR など)",
    500: "システムの障害 (INTERNAL_ERROR、リクエストIDを添えて連絡)",
    503: "一時的に利用できない (SERVICE_UNAVAILABLE)",
}


_NOT_FIELDS = {"body", "path", "query", "header", *(kind.value for kind in MovementKind)}


def error_body(
    code: str, message: str, field: str | None = None, issues: Sequence[Issue] = ()
) -> dict[str, Any]:
    return {
        "error": {
            "code": code,
            "message": message,
            "field": field,
            "issues": [issue.model_dump() for issue in issues],
        }
    }


def _field(error: dict[str, Any]) -> str:
    """("body", "members", 0, "birth_date") → "members[0].birth_date"."""
    if error.get("type") == "json_invalid":
        return "body"  # the location is a character offset, not a field
    location: Sequence[Any] = error.get("loc", ())
    # "body", "query" … say where; a movement kind is the tag pydantic adds for the chosen notice.
    parts = [str(part) for part in location if part not in _NOT_FIELDS]
    text = ""
    for part in parts:
        text += f"[{part}]" if part.isdigit() else (f".{part}" if text else part)
    return text or "body"


def _message(error: dict[str, Any]) -> str:
    if error.get("type") == "value_error":
        # Our own validators raise Japanese messages; pydantic prefixes "Value error, ".
        return str(error.get("msg", "")).removeprefix("Value error, ") or _MESSAGES["value_error"]
    return _MESSAGES.get(str(error.get("type")), "入力が正しくありません")


def validation_error_body(errors: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """Never echoes the input: a rejected value may be personal data."""
    issues = [Issue(code="INVALID_FIELD", message=_message(error), field=_field(error)) for error in errors]
    first = issues[0] if issues else Issue(code="INVALID_FIELD", message="入力が正しくありません")
    return error_body("VALIDATION_ERROR", first.message, first.field, issues)
