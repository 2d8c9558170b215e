"""Validation errors become one shape: stable code, Japanese message, the field; never the input."""

from juki_fn.errors import validation_error_body


def test_field_paths_and_japanese_messages() -> None:
    body = validation_error_body(
        [
            {"type": "date_from_datetime_parsing", "loc": ("body", "members", 0, "birth_date"), "input": "1980-13-01"},
            {"type": "missing", "loc": ("body", "address"), "input": {}},
            {"type": "value_error", "loc": ("body", "members", 1, "relationship"), "msg": "Value error, 続柄が語彙にありません"},
        ]
    )  # fmt: skip
    error = body["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert error["field"] == "members[0].birth_date"
    assert error["message"] == "日付は YYYY-MM-DD で入力してください"
    assert [i["field"] for i in error["issues"]] == [
        "members[0].birth_date",
        "address",
        "members[1].relationship",
    ]
    assert error["issues"][2]["message"] == "続柄が語彙にありません"
    assert "1980-13-01" not in str(body)


def test_unknown_error_type_gets_a_general_message() -> None:
    body = validation_error_body([{"type": "something_new", "loc": ("body",)}])
    assert body["error"]["message"] == "入力が正しくありません"
    assert body["error"]["field"] == "body"
