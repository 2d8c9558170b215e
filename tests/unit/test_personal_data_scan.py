"""The personal-data scanner of the end-to-end run finds what it looks for (so its silence means
something), and does not cry wolf at ids, timestamps and town codes."""

from __future__ import annotations

import gzip
import io
import json
import urllib.parse
import uuid
import zipfile

import pytest
from juki.adapters.pdf.fonts import FontNotFound, japanese_font
from juki.domain.codes import my_number_check_digit
from juki.domain.dates import to_wareki
from juki_local import demo_data
from reportlab.pdfgen.canvas import Canvas
from scan_personal_data import Needles, demo_needles, find_my_numbers, object_texts, scan_lines


def _my_number() -> str:
    first11 = f"{uuid.uuid4().int % 10**11:011d}"
    return first11 + str(my_number_check_digit(first11))


@pytest.fixture(scope="module")
def demo() -> tuple[Needles, demo_data.DemoHousehold]:
    households = list(demo_data.generate(residents=12, seed=221007))
    needles = Needles()
    assert demo_needles(needles, households) == 12
    return needles, households[0]


def test_a_demo_residents_name_birth_date_and_address_are_flagged(
    demo: tuple[Needles, demo_data.DemoHousehold],
) -> None:
    needles, household = demo
    person = household.members[0]
    lines = [
        ("kanji", f'{{"message": "refused", "who": "{person.family_name} {person.given_name}"}}'),
        ("kana, half-width", f"{person.family_name_kana}{person.given_name_kana}".translate(_HALF_WIDTH)),
        ("escaped", json.dumps({"n": f"{person.family_name}{person.given_name}"}, ensure_ascii=True)),
        (
            "url",
            urllib.parse.quote(f"/search?family_name_kana={person.family_name_kana}{person.given_name_kana}"),
        ),
        ("iso", f"born={person.birth_date.isoformat()},"),
        ("wareki", f"生年月日 {to_wareki(person.birth_date)}"),
        ("address", f"{household.address.town}{household.address.lot}"),
    ]
    found = {where: needles.find(text) for where, text in lines}
    assert all(found.values()), found
    assert any("birth date (和暦)" in label for label in found["wareki"])
    assert all(label.startswith("demo resident 1") for labels in found.values() for label in labels)


def test_codes_ids_and_timestamps_are_not_flagged(demo: tuple[Needles, demo_data.DemoHousehold]) -> None:
    needles, household = demo
    birth = household.members[0].birth_date.isoformat()
    line = json.dumps(
        {
            "level": "INFO",
            "message": "refused",
            "timestamp": f"{birth} 08:33:22,420+0000",
            "at": f"{birth}T08:33:22+09:00",
            "code": "ALREADY_RESIDENT",
            "person_id": "0000000019",
            "request_id": str(uuid.uuid4()),
        }
    )
    path = f"GET /audit/unusual-access/{birth} -> 403"  # a route's day, not a birth date
    assert scan_lines([("line", line), ("path", path)], needles) == []


def test_a_valid_my_number_is_flagged_in_any_way_it_is_written() -> None:
    number = _my_number()
    full_width = number.translate(str.maketrans("0123456789", "０１２３４５６７８９"))
    for text in (
        f'{{"my_number": "{number}"}}',
        f"個人番号{number}を表示",
        f"{number[:4]}-{number[4:8]}-{number[8:]}",
        f"{number[:4]} {number[4:8]} {number[8:]}",
        full_width,
        f"/persons/{number}/x",
    ):
        assert find_my_numbers(text) == [number], text


def test_other_twelve_digit_numbers_are_not_flagged() -> None:
    number = _my_number()
    wrong = number[:-1] + str((int(number[-1]) + 1) % 10)
    for text in (
        wrong,
        f"{number}0",  # thirteen digits
        f"6f0d2316-760a-437c-838b-{number}",  # the last group of a UUID
        f"abc{number}def",  # inside a hex id or base64
        f'"town_code": "{number}"',
        f'{{\\"town_code\\":\\"{number}\\"}}',
        f"TOWN#{number}",
        f"arn:aws:iam::{number}:role/test",
        f"arn:aws:lambda:ap-northeast-1:{number}:function:juki-221007-api",
    ):
        assert find_my_numbers(text) == [], text


def test_stored_objects_are_read_inside_gzip_zip_and_pdf_streams() -> None:
    number = _my_number()
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w", zipfile.ZIP_DEFLATED) as zipped:
        zipped.writestr("identity.csv", f"0000000019,{number}\n".encode("cp932"))
    pdf = io.BytesIO()
    canvas = Canvas(pdf, pageCompression=1)
    try:  # the certificates' embedded subset font: digits are glyph ids in the stream
        canvas.setFont(japanese_font(), 10.5)
    except FontNotFound:
        canvas.setFont("Helvetica", 10.5)
    canvas.drawString(72, 720, f"個人番号 {number}")
    canvas.save()
    assert number not in pdf.getvalue().decode("latin-1"), "the number is not in the raw PDF bytes"
    for data in (gzip.compress(number.encode()), archive.getvalue(), pdf.getvalue()):
        assert any(number in find_my_numbers(text) for text in object_texts(data))


def test_request_bodies_give_needles_for_personal_values_only() -> None:
    needles = Needles()
    body = {
        "kind": "move_in",
        "effective_date": "2024-04-01",
        "address": {"ward": "葵区", "town": "追手町", "lot": "5番1号", "katagaki": "メゾン静岡"},
        "members": [
            {"name": {"family_name": "記録", "given_name_kana": "タロウ"}, "birth_date": "1961-07-29"}
        ],
    }
    needles.add_body("sent", body)
    assert needles.find("5番1号 メゾン静岡 記録 タロウ 1961-07-29 昭和36年7月29日") != []
    assert needles.find("葵区役所 追手町 2024-04-01 move_in") == []


_HALF_WIDTH = str.maketrans(
    "アイウエオカキクケコサシスセソタチツテトナニヌネノハヒフヘホマミムメモヤユヨラリルレロワヲン",
    "ｱｲｳｴｵｶｷｸｹｺｻｼｽｾｿﾀﾁﾂﾃﾄﾅﾆﾇﾈﾉﾊﾋﾌﾍﾎﾏﾐﾑﾒﾓﾔﾕﾖﾗﾘﾙﾚﾛﾜｦﾝ",
)
