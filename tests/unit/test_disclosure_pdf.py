"""The disclosure report as a PDF: A4 portrait, the Japanese font embedded (a subset), the person's
name and dates in 和暦 readable back out of the file, long content flowing onto further pages."""

from __future__ import annotations

import io
import re
import shutil
import subprocess
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from juki.adapters.pdf.disclosure_pdf import DisclosurePdf, items
from juki.adapters.pdf.fonts import ENV_PDF_FONT, FONT_NAME, FontNotFound, font_path
from juki.domain.dates import PartialDate
from juki.domain.linkage import Recipient
from juki.domain.my_number import SealedMyNumber
from juki.domain.records import HouseholdRecord, PersonRecord
from juki.domain.values import Address, MovementKind, PersonName, ResidentStatus, Sex
from juki.services.disclosure import (
    CERTIFICATES_NOT_ISSUED,
    NOTES,
    CertificateSection,
    DisclosureReport,
    DisclosureRequest,
    HouseholdEntry,
    MovementEntry,
    ProvisionEntry,
)
from pypdf import PdfReader

NOW = datetime(2026, 11, 26, 1, 30, tzinfo=UTC)  # 令和8年11月26日 10時30分 JST
PERSON = "0000000019"
HOUSEHOLD = "0000000027"
SEALED = SealedMyNumber(ciphertext="c2VhbGVk", blind_index="0" * 64)
REQUEST = DisclosureRequest(
    requester="駿府 築山 (本人)", identity_document="個人番号カード", reference="開示-2026-001"
)


def version(n: int, kind: MovementKind = MovementKind.IN_CITY_MOVE, **changes: object) -> PersonRecord:
    return PersonRecord(
        person_id=PERSON, version=n, household_id=HOUSEHOLD, my_number=SEALED,
        name=PersonName(family_name="駿府", given_name="築山", family_name_kana="スンプ", given_name_kana="ツキヤマ"),
        birth_date=date(1977, 3, 3), sex=Sex.FEMALE, relationship="妻",
        address=Address(postal_code="420-0853", ward="葵区", town="追手町", lot=f"{n}番1号", katagaki="追手町レジデンス203号室"),
        resident_since=date(2020, 4, 1), address_since=date(2020, 4, 1), notified_date=date(2020, 4, 1),
        status=ResidentStatus.RESIDENT, movement_id=f"{n:032x}", movement_kind=kind,
        effective_date=date(2020, 4, 1), recorded_at=NOW,
    ).model_copy(update=changes)  # fmt: skip


def report(versions: list[PersonRecord]) -> DisclosureReport:
    household = HouseholdRecord(
        household_id=HOUSEHOLD, version=1, head_person_id="0000000035", member_ids=["0000000035", PERSON],
        address=versions[0].address, movement_id=versions[0].movement_id, effective_date=date(2020, 4, 1),
        recorded_at=NOW,
    )  # fmt: skip
    return DisclosureReport(
        report_id="d" * 32,
        prepared_at=NOW,
        prepared_by="S6001",
        office="静岡市役所",
        request=REQUEST,
        person_id=PERSON,
        my_number="123456789018",
        previous_my_numbers=[],
        records=versions,
        households=[
            HouseholdEntry(
                household_id=HOUSEHOLD,
                version=1,
                effective_date=household.effective_date,
                recorded_at=NOW,
                movement_id=household.movement_id,
                status=household.status,
                member=True,
                head_person_id="0000000035",
                head_is_self=False,
                head_name="駿府 家康",
                relationship="妻",
            )
        ],
        movements=[
            MovementEntry(
                movement_id=v.movement_id,
                kind=v.movement_kind,
                effective_date=v.effective_date,
                notified_date=v.notified_date,
                recorded_at=NOW,
                versions=[v.version],
                status="final",
                entered_at=NOW,
                approved_at=NOW,
            )
            for v in versions
        ],
        restrictions=[],
        support_measures=[],
        provisions=[
            ProvisionEntry(
                message_id=f"{v.movement_id}:v:{PERSON}:{v.version}:cs.identity",
                category="provision",
                destination=Recipient.CS.value,
                destination_name="住基ネット",
                kind="identity.changed",
                kind_name="本人確認情報の変更",
                movement_id=v.movement_id,
                record_version=v.version,
                created_at=NOW,
                status="delivered",
            )
            for v in versions
        ],
        certificates=CertificateSection(source_available=False, issuances=[], note=CERTIFICATES_NOT_ISSUED),
        notes=list(NOTES),
    )


@pytest.fixture(scope="module")
def short_pdf() -> bytes:
    first = version(1, MovementKind.MOVE_IN, birth_date_partial=None)
    return DisclosurePdf().render(report([first, version(2, effective_date=date(2024, 7, 1))]))


@pytest.fixture(scope="module")
def long_pdf() -> bytes:
    versions = [version(n, effective_date=date(2020, 4, 1)) for n in range(1, 41)]
    return DisclosurePdf().render(report(versions))


def text_of(pdf: bytes) -> str:
    return "\n".join(page.extract_text() or "" for page in PdfReader(io.BytesIO(pdf)).pages)


def test_a4_portrait_with_the_font_embedded_as_a_subset(short_pdf: bytes) -> None:
    reader = PdfReader(io.BytesIO(short_pdf))
    box = reader.pages[0].mediabox
    assert (round(float(box.width)), round(float(box.height))) == (595, 842)  # A4 portrait, in points
    fonts: list[tuple[str, bool]] = []
    for page in reader.pages:
        resources: Any = page["/Resources"]
        for reference in resources["/Font"].values():
            font = reference.get_object()
            descriptor = font.get("/FontDescriptor")
            fonts.append((str(font["/BaseFont"]), descriptor is not None and "/FontFile2" in descriptor))
    japanese = [(name, embedded) for name, embedded in fonts if FONT_NAME in name]
    assert japanese, fonts
    # A subset's name has a six-letter tag; the TrueType program itself is in the file.
    assert all(re.fullmatch(rf"/[A-Z]{{6}}\+{FONT_NAME}", name) and embedded for name, embedded in japanese)


def test_name_dates_in_wareki_and_every_section_are_in_the_text(short_pdf: bytes) -> None:
    text = re.sub(r"\s", "", text_of(short_pdf))
    assert "駿府築山" in text
    assert "昭和52年3月3日" in text  # birth date, 和暦
    assert "令和2年4月1日" in text and "令和6年7月1日" in text  # effective dates of the versions
    assert "令和8年11月26日10時30分" in text  # prepared at, in Japan time
    assert "123456789018" in text  # the person's own 個人番号, shown to them
    assert "個人番号カード" in text and "駿府家康" in text  # identity document checked; head of household
    for heading in (
        "ご本人",
        "住民票の記録(全2版)",
        "属した世帯",
        "異動",
        "抑止・支援措置",
        "提供・移転の記録",
    ):
        assert heading in text
    assert "証明書の交付履歴" in text and "記録元がありません" in text  # said, not an empty list
    assert "2020年" not in text  # a Japanese resident's dates are never printed in 西暦


def test_long_content_flows_onto_further_pages_without_losing_anything(long_pdf: bytes) -> None:
    reader = PdfReader(io.BytesIO(long_pdf))
    assert len(reader.pages) >= 5
    text = re.sub(r"\s", "", text_of(long_pdf))
    for n in range(1, 41):
        assert f"第{n}版" in text
        assert f"住所/番地・号{n}番1号" in text  # item by item, every version
    assert f"1/{len(reader.pages)}ページ" in text and f"{len(reader.pages)}/{len(reader.pages)}ページ" in text


def test_items_follow_the_record_model_labels_codes_and_partial_dates() -> None:
    person = version(1, birth_date_partial=PartialDate.parse("昭和○○年頃"), status=ResidentStatus.REMOVED)
    rows = dict(items(person))
    assert rows["氏名 / 氏 (漢字)"] == "駿府"
    assert rows["氏名 / 氏 (フリガナ、全角カタカナ)"] == "スンプ"  # two items, two labels
    assert rows["生年月日"] == "昭和52年3月3日"
    assert rows["不詳日の生年月日"] == "昭和○○年頃"
    assert rows["状態"] == "除票"  # from the field's description "resident=在住, removed=除票"
    assert rows["性別"] == "女"
    assert rows["個人番号"].startswith("記録あり")  # never the ciphertext
    assert "c2VhbGVk" not in "".join(rows.values())


def test_the_font_is_looked_up_from_the_environment_first(tmp_path: Path) -> None:
    with pytest.raises(FontNotFound):
        font_path({ENV_PDF_FONT: str(tmp_path / "missing.ttf")})
    chosen = tmp_path / "font.ttf"
    chosen.write_bytes(b"")
    assert font_path({ENV_PDF_FONT: str(chosen)}) == chosen
    assert font_path({}).name.endswith(".ttf")


@pytest.mark.skipif(shutil.which("pdffonts") is None, reason="poppler-utils not installed")
def test_poppler_sees_the_font_embedded_and_the_text(short_pdf: bytes, tmp_path: Path) -> None:
    path = tmp_path / "report.pdf"
    path.write_bytes(short_pdf)
    fonts = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True, text=True).stdout
    rows = [line.split() for line in fonts.splitlines() if FONT_NAME in line]
    assert rows and all(row[-5:-3] == ["yes", "yes"] for row in rows), fonts  # emb, sub
    text = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True, text=True).stdout
    assert "駿府 築山" in text and "昭和52年3月3日" in text
