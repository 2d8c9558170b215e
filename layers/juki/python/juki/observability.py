"""Logger and tracer, created once. Application logs never carry personal data: log codes and ids.

That rule is kept by the code that logs; the formatter below is the net under it. Before a line is
written, every personal field among its keys (at any depth: ``extra=``, appended keys, a model
passed as a value) is erased with Powertools' data masking utility, and any valid 12-digit 個人番号
or pydantic ``input_value=`` fragment left in the message or an exception text is masked too. A
line with nothing personal in it (the normal case) is written as Powertools writes it.
"""

from __future__ import annotations

import dataclasses
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from aws_lambda_powertools import Logger, Tracer
from aws_lambda_powertools.logging.formatter import LambdaPowertoolsFormatter
from aws_lambda_powertools.logging.types import LogRecord
from aws_lambda_powertools.utilities.data_masking import DataMasking
from aws_lambda_powertools.utilities.data_masking.constants import DATA_MASKING_STRING

from juki.domain.codes import is_valid_my_number

# The field names of juki.domain.records / commands / values / record_items that hold the basic
# four (name, birth date, sex, address), the numbers that identify a person, and free text that
# may name one. A whole group is erased when its key is listed (``name``, ``address``, ``koseki``).
PERSONAL_FIELDS: frozenset[str] = frozenset(
    {
        # names
        "name",
        "family_name",
        "given_name",
        "family_name_kana",
        "given_name_kana",
        "kana",
        "name_details",
        "romaji_name",
        "katakana_notation",
        "alias",
        "alias_kana",
        "alias_history",
        "former_surname",
        "former_surname_kana",
        "former_surname_romaji",
        "head_name",
        "head_name_romaji",
        "head",
        # birth date and sex
        "birth_date",
        "birth_date_partial",
        "sex",
        # addresses
        "address",
        "previous_address",
        "destination",
        "planned_destination",
        "confirmed_destination",
        "street",
        "lot",
        "katagaki",
        "koseki",
        "domicile",
        "phone",
        "email",
        # numbers
        "my_number",
        "sealed_my_number",
        "resident_code",
        "card_number",
        "insured_number",
        "cards",
        "qualifications",
        "nationality",
        # free text that can name anyone
        "notes",
        "memo",
        "remarks",
        "combined_entries",
    }
)

# Twelve digits standing alone (not part of a longer number, a hex id or base64), or in 4-4-4 groups.
_MY_NUMBER_CANDIDATE = re.compile(r"(?<![0-9A-Za-z_+-])(\d{4}[- ]?\d{4}[- ]?\d{4})(?![0-9A-Za-z_+-])")
# An AWS account id in an ARN is twelve digits too, and public.
_ARN_ACCOUNT_BEFORE = re.compile(r"arn:aws[a-z-]*:[a-z0-9-]*:[a-z0-9-]*:$")
# pydantic puts the rejected value into its error text: ``input_value='山田', input_type=str``.
_PYDANTIC_INPUT = re.compile(r"input_value=.*?(?=, input_type=|\]$|$)", re.MULTILINE)

_masker = DataMasking(raise_on_missing_field=False)


def _personal_keys(data: Any) -> Iterator[str]:
    """The personal keys in the data, not looking inside one (it is erased whole)."""
    if isinstance(data, Mapping):
        for key, value in data.items():
            if key in PERSONAL_FIELDS:
                yield key
            else:
                yield from _personal_keys(value)
    elif isinstance(data, list):
        for item in data:
            yield from _personal_keys(item)


def _mask_my_number(match: re.Match[str]) -> str:
    digits = re.sub(r"[- ]", "", match.group(1))
    in_arn = _ARN_ACCOUNT_BEFORE.search(match.string, max(0, match.start() - 60), match.start())
    return DATA_MASKING_STRING if is_valid_my_number(digits) and not in_arn else match.group(0)


def _mask_text(data: Any) -> Any:
    """Masks what only the text itself can show: a valid 個人番号 and pydantic's echo of an input."""
    if isinstance(data, str):
        return _PYDANTIC_INPUT.sub(
            f"input_value={DATA_MASKING_STRING}", _MY_NUMBER_CANDIDATE.sub(_mask_my_number, data)
        )
    if isinstance(data, dict):
        return {key: _mask_text(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [_mask_text(item) for item in data]
    return data


def _plain(value: Any) -> Any:
    """How a value that is not JSON is written: a model or dataclass as its fields (so that its
    personal fields are found by name), anything else as Powertools writes it, with str()."""
    if callable(getattr(value, "model_dump", None)):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.asdict(value)
    return str(value)


def mask_personal_data(log: Mapping[str, Any]) -> dict[str, Any]:
    """The log record with every personal field erased (DataMasking.erase, at any depth) and any
    個人番号 or echoed input masked in its text."""
    data: dict[str, Any] = json.loads(json.dumps(dict(log), default=_plain, ensure_ascii=False))
    present = sorted(set(_personal_keys(data)))
    if present:
        data = _masker.erase(data, fields=[f"$..{key}" for key in present])
    masked: dict[str, Any] = _mask_text(data)
    return masked


class MaskingFormatter(LambdaPowertoolsFormatter):
    """Powertools' JSON formatter, with personal data erased before the line is serialised."""

    def serialize(self, log: LogRecord) -> str:
        return super().serialize(log=mask_personal_data(log))


logger = Logger(service="juki", logger_formatter=MaskingFormatter())
tracer = Tracer(service="juki")
