"""The shared logger erases personal fields (Powertools data masking) before a line is written."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from datetime import date
from typing import Any

import pytest
from juki.domain.codes import my_number_check_digit
from juki.domain.values import PersonName
from juki.observability import PERSONAL_FIELDS, MaskingFormatter, logger, mask_personal_data

MASK = "*****"


def _my_number() -> str:
    first11 = f"{uuid.uuid4().int % 10**11:011d}"
    return first11 + str(my_number_check_digit(first11))


@pytest.fixture
def written() -> Iterator[io.StringIO]:
    """What the shared logger's own handler writes, read from a buffer instead of stdout."""
    handler = logger.registered_handler
    assert isinstance(handler, logging.StreamHandler)
    buffer = io.StringIO()
    previous = handler.setStream(buffer)
    try:
        yield buffer
    finally:
        handler.setStream(previous)
        logger.remove_keys(["resident_code", "person"])


def _lines(buffer: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in buffer.getvalue().splitlines()]


def test_the_shared_logger_writes_through_the_masking_formatter() -> None:
    assert isinstance(logger.registered_formatter, MaskingFormatter)


def test_personal_fields_in_extra_keys_are_erased_and_codes_kept(written: io.StringIO) -> None:
    number = _my_number()
    logger.info(
        "refused",
        extra={
            "code": "ALREADY_RESIDENT",
            "person_id": "0000000019",
            "family_name": "記録山田",
            "given_name_kana": "タロウ",
            "birth_date": date(1961, 7, 29),
            "my_number": number,
            "address": {"town": "追手町", "lot": "5番1号", "katagaki": "コーポ静岡101"},
            "members": [{"koseki": {"domicile": "静岡県静岡市葵区追手町5番地", "head": "山田太郎"}}],
        },
    )
    text = written.getvalue()
    for secret in ("記録山田", "タロウ", "1961-07-29", number, "追手町", "5番1号", "コーポ静岡", "山田太郎"):
        assert secret not in text, f"{secret!r} was written"
    (line,) = _lines(written)
    assert (line["code"], line["person_id"], line["message"]) == ("ALREADY_RESIDENT", "0000000019", "refused")
    assert line["family_name"] == line["birth_date"] == line["my_number"] == line["address"] == MASK
    assert line["members"] == [{"koseki": MASK}]


def test_appended_keys_and_models_are_erased_by_field_name(written: io.StringIO) -> None:
    logger.append_keys(
        resident_code="57204913865",
        person=PersonName(
            family_name="静岡", given_name="花子", family_name_kana="シズオカ", given_name_kana="ハナコ"
        ),
    )
    logger.info("read")
    text = written.getvalue()
    for secret in ("57204913865", "静岡", "花子", "シズオカ", "ハナコ"):
        assert secret not in text
    (line,) = _lines(written)
    assert line["resident_code"] == MASK
    assert line["person"] == dict.fromkeys(
        ("family_name", "given_name", "family_name_kana", "given_name_kana"), MASK
    )


def test_a_valid_my_number_in_the_message_is_masked_and_other_numbers_are_not(written: io.StringIO) -> None:
    number = _my_number()
    wrong = number[:-1] + str((int(number[-1]) + 1) % 10)
    request_id = f"6f0d2316-760a-437c-838b-{number}"
    arn = f"arn:aws:iam::{number}:role/counter"
    logger.info(f"seen {number} and {number[:4]}-{number[4:8]}-{number[8:]}; not {wrong}; {request_id} {arn}")
    (line,) = _lines(written)
    assert line["message"].count(MASK) == 2
    assert wrong in line["message"] and request_id in line["message"] and arn in line["message"]


def test_a_validation_error_does_not_echo_its_input(written: io.StringIO) -> None:
    # Values from variables: a traceback shows the source line, and the source must not hold them.
    given: Any = 19610729
    given_kana = "Rouei"
    try:
        PersonName(family_name="山", given_name=given, family_name_kana="ヤマ", given_name_kana=given_kana)
    except ValueError:
        logger.exception("invalid")
    text = written.getvalue()
    assert "ValidationError" in text
    assert text.count("input_value=*****") >= 4  # two errors, in the exception text and the stack trace
    assert "19610729" not in text and "Rouei" not in text


def test_a_line_without_personal_data_is_unchanged() -> None:
    log = {
        "level": "INFO",
        "message": "refused",
        "code": "TOKEN_MISSING",
        "status": 401,
        "ids": ["0000000019"],
    }
    assert mask_personal_data(log) == log


def test_the_field_list_covers_the_basic_four_and_the_numbers() -> None:
    assert {
        "family_name",
        "given_name_kana",
        "birth_date",
        "sex",
        "address",
        "my_number",
        "resident_code",
    } <= (PERSONAL_FIELDS)
