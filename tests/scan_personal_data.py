"""Scanners for personal data where none may be: log lines, and (for 個人番号) every stored item.

Two kinds of search:

* needles: the known personal data of known people (the demo residents, the people the tests
  send), each with a label that names the person by position and the kind of datum, never the
  datum itself, so that a failure report does not repeat what leaked;
* ``find_my_numbers``: any twelve digits whose check digit is valid, standing alone or in 4-4-4
  groups, in ASCII or full-width digits. Digits inside a longer number, a hex id (the 12-digit last
  group of a UUID) or base64 are not candidates: they are not how a 個人番号 is written.

Text is NFKC-normalised (full-width digits and half-width kana fold) and read once more with JSON
``\\uXXXX`` escapes and URL percent-escapes undone, so an escaped copy is found too.
"""

from __future__ import annotations

import gzip
import io
import itertools
import json
import re
import unicodedata
import urllib.parse
import zipfile
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from juki.domain.codes import is_valid_my_number
from juki.domain.dates import to_wareki
from juki_local.demo_data import DemoHousehold
from pypdf import PdfReader

MY_NUMBER_CANDIDATE = re.compile(r"(?<![0-9A-Za-z_+-])(\d{4})[- ]?(\d{4})[- ]?(\d{4})(?![0-9A-Za-z_+-])")
# Two public codes are twelve digits too: a 町丁目 code (town_code: 6-digit ward code, 4-digit town,
# 2-digit 丁目), named as such by its key, its index prefix or its printed label (a PDF's text puts
# the value on the line after 「町丁目コード」), and an AWS account id in an ARN.
_PUBLIC_CODE_BEFORE = re.compile(
    r"(?:town_code[\\\"':\s]*|TOWN#|町丁目コード[^\n]{0,20}\n|arn:aws[a-z-]*:[a-z0-9-]*:[a-z0-9-]*:)$"
)
_UNICODE_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")

# The request-body keys whose string values are personal data on their own (a ward or a town name
# alone is not: it is part of every staff office's name too).
PERSONAL_VALUE_KEYS = frozenset(
    {
        "family_name",
        "given_name",
        "family_name_kana",
        "given_name_kana",
        "alias",
        "alias_kana",
        "former_surname",
        "former_surname_kana",
        "katakana_notation",
        "head",
        "head_name",
        "domicile",
        "street",
        "lot",
        "katagaki",
        "birth_date",
        "my_number",
        "resident_code",
        "card_number",
        "insured_number",
        "memo",
        "remarks",
    }
)
DATE_KEYS = frozenset({"birth_date"})


@dataclass(frozen=True)
class Finding:
    label: str  # what was found, without the datum: "demo resident 12: birth date (和暦)"
    where: str  # "log line 345", "table juki-ledger item 17", "bucket x key y"


def normalise(text: str) -> str:
    """NFKC, plus a second reading with JSON and URL escapes undone when the text has any."""
    folded = unicodedata.normalize("NFKC", text)
    unescaped = _UNICODE_ESCAPE.sub(lambda match: chr(int(match.group(1), 16)), folded)
    if "%" in unescaped:
        unescaped = urllib.parse.unquote(unescaped)
    return folded if unescaped == folded else f"{folded}\n{unescaped}"


def find_my_numbers(text: str) -> list[str]:
    """Every valid 12-digit 個人番号 written in the text (as twelve digits, grouped or not), town
    codes and account ids aside."""
    found = []
    text = normalise(text)
    for match in MY_NUMBER_CANDIDATE.finditer(text):
        digits = "".join(match.groups())
        public = _PUBLIC_CODE_BEFORE.search(text, max(0, match.start() - 60), match.start())
        if is_valid_my_number(digits) and not public:
            found.append(digits)
    return list(dict.fromkeys(found))


class Needles:
    """Known personal data, searched for all at once (one alternation, longest first)."""

    def __init__(self) -> None:
        self._labels: dict[str, str] = {}
        self._dates: dict[str, str] = {}
        self._pattern: re.Pattern[str] | None = None

    def __len__(self) -> int:
        return len(self._labels) + len(self._dates)

    def add(self, label: str, value: str) -> None:
        value = unicodedata.normalize("NFKC", value).strip()
        if len(value) > 1 and value not in self._labels:
            self._labels[value] = label
            self._pattern = None

    def add_date(self, label: str, day: date) -> None:
        """A date as it could be written: ISO, with slashes, in kanji, and in 和暦."""
        iso = day.isoformat()
        for text in (iso, iso.replace("-", "/")):
            self._dates.setdefault(text, f"{label} (西暦)")
        self.add(f"{label} (西暦)", f"{day.year}年{day.month}月{day.day}日")
        wareki = to_wareki(day)
        self.add(f"{label} (和暦)", wareki)
        padded = re.sub(r"(?<=[年月])(\d)(?=[月日])", r"0\1", wareki)
        self.add(f"{label} (和暦)", padded)

    def add_name(self, label: str, family: str, given: str, family_kana: str, given_kana: str) -> None:
        for part, kind in (
            (family, "氏"),
            (given, "名"),
            (family_kana, "氏 (カナ)"),
            (given_kana, "名 (カナ)"),
        ):
            self.add(f"{label}: {kind}", part)
        for joined, kind in ((f"{family}{given}", "氏名"), (f"{family_kana}{given_kana}", "氏名 (カナ)")):
            self.add(f"{label}: {kind}", joined)
        for separator in (" ", "　"):
            self.add(f"{label}: 氏名", f"{family}{separator}{given}")
            self.add(f"{label}: 氏名 (カナ)", f"{family_kana}{separator}{given_kana}")

    def add_body(self, label: str, body: Any) -> None:
        """Every personal string value in a request body or query, found by its key."""
        for key, value in _leaves(body):
            if key in DATE_KEYS:
                try:
                    self.add_date(f"{label}: {key}", date.fromisoformat(value))
                except ValueError:
                    self.add(f"{label}: {key}", value)
            elif key in PERSONAL_VALUE_KEYS:
                self.add(f"{label}: {key}", value)

    def _compiled(self) -> re.Pattern[str]:
        if self._pattern is None:
            self._pattern = re.compile(_trie(sorted(self._labels)) or r"(?!x)x")
        return self._pattern

    def find(self, text: str) -> list[str]:
        """The labels of the needles in the text (a longer needle wins where two overlap)."""
        text = normalise(text)
        found = [self._labels[match.group(0)] for match in self._compiled().finditer(text)]
        found += [
            self._dates[match.group(1)] for match in _DATE.finditer(text) if match.group(1) in self._dates
        ]
        return list(dict.fromkeys(found))


# A date with its digits standing alone, not the date of a timestamp ("2025-06-01T10:00" or
# "2025-06-01 10:00:00,123") and not a URL path segment (a route's day, as in
# /audit/unusual-access/2025-06-01: the API takes no birth date in a path).
_DATE = re.compile(r"(?<![0-9A-Za-z/])(\d{4}[-/]\d{2}[-/]\d{2})(?![T ]\d\d:)(?![0-9A-Za-z])")


def _trie(words: Iterable[str]) -> str:
    """One regular expression for many literals, factored by common prefix: the regex engine then
    dispatches on the next character instead of trying every literal at every position."""
    root: dict[str, Any] = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def render(node: dict[str, Any]) -> str:
        branches = [re.escape(char) + render(child) for char, child in node.items() if char]
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 else "(?:" + "|".join(branches) + ")"
        return f"(?:{body})?" if "" in node else body

    return render(root)


def _leaves(data: Any, key: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(data, Mapping):
        for child_key, value in data.items():
            yield from _leaves(value, str(child_key))
    elif isinstance(data, list | tuple):
        for item in data:
            yield from _leaves(item, key)
    elif isinstance(data, str):
        yield key, data


def query_values(path: str) -> dict[str, list[str]]:
    return urllib.parse.parse_qs(urllib.parse.urlsplit(path).query)


def demo_needles(needles: Needles, households: Iterable[DemoHousehold]) -> int:
    """Adds every demo resident's names, birth date and address; returns how many residents."""
    count = 0
    for household in households:
        address = household.address
        for person in household.members:
            count += 1
            label = f"demo resident {count}"
            needles.add_name(
                label, person.family_name, person.given_name, person.family_name_kana, person.given_name_kana
            )
            needles.add_date(f"{label}: birth date", person.birth_date)
            needles.add(f"{label}: address", f"{address.town}{address.lot}")
            needles.add(f"{label}: address (lot)", address.lot)
            if address.katagaki:
                needles.add(f"{label}: address (katagaki)", address.katagaki)
    return count


def scan_lines(lines: Iterable[tuple[str, str]], needles: Needles) -> list[Finding]:
    """Findings in (where, text) lines: known personal data and any valid 個人番号."""
    findings = []
    for where, text in lines:
        findings += [Finding(label, where) for label in needles.find(text)]
        findings += [Finding("a valid 個人番号", where) for _ in find_my_numbers(text)]
    return findings


# -- stored data ------------------------------------------------------------------------------
def _text_of(data: bytes) -> str:
    for encoding in ("utf-8", "cp932"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    return data.decode("latin-1")


def object_texts(data: bytes) -> Iterator[str]:
    """The readable text of a stored object: as is, and unpacked when gzip or zip, or extracted
    when a PDF (a number inside them would not show in the raw bytes). A PDF's raw bytes are not
    read as text: its structure is full of digit runs (a font's width table is "1000 1000 1000 …"),
    and its text is what the reader shows."""
    if data[:5] != b"%PDF-":
        yield _text_of(data)
    if data[:2] == b"\x1f\x8b":
        yield from object_texts(gzip.decompress(data))
    elif data[:2] == b"PK":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for name in archive.namelist():
                yield from object_texts(archive.read(name))
    elif data[:5] == b"%PDF-":
        # The text as a reader sees it: embedded (subset) fonts encode digits as glyph ids.
        reader = PdfReader(io.BytesIO(data))
        yield "\n".join(page.extract_text() for page in reader.pages)
        yield json.dumps(reader.metadata or {}, default=str, ensure_ascii=False)


def _json_of_item(item: Mapping[str, Any]) -> str:
    def plain(value: Any) -> Any:
        if isinstance(value, bytes | bytearray):
            return _text_of(bytes(value))
        return str(value)

    return json.dumps(item, default=plain, ensure_ascii=False)


def table_texts(dynamodb: Any) -> Iterator[tuple[str, str]]:
    """(where, text) for every attribute of every item of every table (low-level client: binary
    values decoded). The item is named by its position: its key can itself be personal data."""
    for page in dynamodb.get_paginator("list_tables").paginate():
        for table in page["TableNames"]:
            number = 0
            for scan in dynamodb.get_paginator("scan").paginate(TableName=table):
                for item in scan["Items"]:
                    number += 1
                    for attribute, value in item.items():
                        yield f"table {table} item {number} attribute {attribute!r}", _json_of_item(value)


def bucket_texts(s3: Any) -> Iterator[tuple[str, str]]:
    """(where, text) for every version of every object in every bucket."""
    for bucket in s3.list_buckets()["Buckets"]:
        name = bucket["Name"]
        for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
            for version in page.get("Versions", []):
                body = s3.get_object(Bucket=name, Key=version["Key"], VersionId=version["VersionId"])["Body"]
                where = f"bucket {name} object {version['Key']!r} version {version['VersionId']}"
                for text in object_texts(body.read()):
                    yield where, text


def stored_my_numbers(dynamodb: Any, s3: Any) -> list[Finding]:
    """A finding for every valid 個人番号 in plain text in any table item or object version."""
    findings = []
    for where, text in itertools.chain(table_texts(dynamodb), bucket_texts(s3)):
        findings += [Finding("a valid 個人番号 in plain text", where) for _ in find_my_numbers(text)]
    return list(dict.fromkeys(findings))  # once per place, however many readings of it found one


def report(findings: list[Finding], limit: int = 40) -> str:
    lines = [f"{finding.label} at {finding.where}" for finding in findings[:limit]]
    more = len(findings) - limit
    return "\n".join(lines + ([f"... and {more} more"] if more > 0 else []))
