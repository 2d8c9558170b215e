"""Certificates as PDFs, read back the way a person would: ``pdftotext`` finds the name, the
address, the 和暦 dates, the issue number on every page with its page of pages, and not the items
left out; ``pdffonts`` shows the Japanese font embedded and no other; a household of twenty shrinks
to the floor size and then runs on to further pages with every member and the certification there.

poppler-utils (pdftotext, pdffonts) is required, as for the disclosure report."""

from __future__ import annotations

import io
import json
import subprocess
from datetime import date
from pathlib import Path

import pytest
from juki.adapters.pdf.certificates import (
    FLOOR_SIZE,
    NORMAL_SIZE,
    SEAL_SIZE,
    CertificatePdf,
    RenderedCertificate,
    Seal,
)
from juki.domain.certificate_rules import compose
from juki.domain.certificates import (
    CertificateDocument,
    CertificateKind,
    FeeCategory,
    IssueNumber,
    Layout,
    OptionalItem,
    RequesterKind,
)
from juki.domain.values import Sex
from pypdf import PageObject, PdfReader
from reportlab.lib.units import mm

from tests.unit.domain.test_certificate_rules import (
    CHILD,
    HEAD,
    LODGER,
    NUMBERS,
    TODAY,
    WIFE,
    family,
    foreign_lodger,
    household,
    moved_out,
    person,
    request,
    subject,
)

ADDRESS_TEXT = "静岡市葵区追手町5番1号"


def pdf_pages(pdf: bytes) -> list[PageObject]:
    return list(PdfReader(io.BytesIO(pdf)).pages)


def number(sequence: int) -> IssueNumber:
    return IssueNumber(issued_on=TODAY, municipality_code="221007", terminal="T01", sequence=sequence)


def render(documents: list[CertificateDocument], first: int = 1) -> RenderedCertificate:
    return CertificatePdf().render(documents, [number(first + i) for i in range(len(documents))])


def poppler(tool: str, pdf: bytes, tmp_path: Path, *options: str) -> str:
    path = tmp_path / "certificate.pdf"
    path.write_bytes(pdf)
    out = subprocess.run([tool, *options, str(path), "-"], check=True, capture_output=True, text=True)
    return out.stdout


def page_texts(pdf: bytes, tmp_path: Path) -> list[str]:
    """The text of each page (pdftotext separates pages by a form feed)."""
    text = poppler("pdftotext", pdf, tmp_path, "-layout")
    return [page for page in text.split("\f") if page.strip()]


def fonts(pdf: bytes, tmp_path: Path) -> list[list[str]]:
    path = tmp_path / "fonts.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True, text=True).stdout
    return [line.split() for line in out.splitlines()[2:]]


def test_household_copy_prints_names_address_wareki_and_the_issue_number(tmp_path: Path) -> None:
    documents = compose(request(CertificateKind.RESIDENT_COPY, [HEAD, WIFE, CHILD]), subject(family()))
    rendered = render(documents, first=42)
    pages = page_texts(rendered.pdf, tmp_path)
    text = pages[0]

    assert rendered.pages == len(pdf_pages(rendered.pdf)) == 1
    for name in ("駿府 家康", "駿府 築山", "駿府 信康"):
        assert name in text
    assert ADDRESS_TEXT in text
    assert "昭和50年1月31日" in text and "平成22年3月5日" in text  # births in 和暦
    assert "令和8年11月26日" in text  # the issue date
    assert "221007-20261126-T01-00000042" in text
    assert "端末 T01" in text and "通番 42" in text and "静岡市" in text
    assert "1 / 1 ページ" in text
    assert "世帯全員の住民票の原本と相違ない" in text
    assert "静岡市長 駿府 太郎" in text
    # Items not chosen: stated as omitted, their contents absent.
    assert "本籍・筆頭者の記載を省略" in text
    assert "静岡県静岡市葵区追手町5番地" not in text
    assert "10000000019" not in text  # 住民票コード
    assert "続柄" not in text.replace("世帯主との続柄の記載を省略", "")
    assert "公用" not in text


def test_items_asked_for_appear_and_the_font_is_embedded(tmp_path: Path) -> None:
    asked = request(CertificateKind.RESIDENT_COPY, [HEAD, WIFE, CHILD], items=list(OptionalItem))
    rendered = render(compose(asked, subject(family()), NUMBERS))
    text = page_texts(rendered.pdf, tmp_path)[0]

    assert "静岡県静岡市葵区追手町5番地" in text
    assert "10000000019" in text
    assert "123456789018" in text
    assert "省略" not in text
    embedded = fonts(rendered.pdf, tmp_path)
    assert [row[0].split("+")[-1] for row in embedded] == ["IPAexGothic"]
    assert all(row[-5:-2] == ["yes", "yes", "yes"] for row in embedded)  # embedded, subset, unicode


def test_individual_copies_number_each_document_and_its_pages(tmp_path: Path) -> None:
    official = request(
        CertificateKind.RESIDENT_COPY, [HEAD, WIFE], layout=Layout.INDIVIDUAL,
        requester_kind=RequesterKind.OFFICIAL, requester_name="静岡県警察本部", fee_category=FeeCategory.OFFICIAL,
    )  # fmt: skip
    rendered = render(compose(official, subject(family()[:2])), first=7)
    pages = page_texts(rendered.pdf, tmp_path)

    assert rendered.page_counts == (1, 1)
    assert "駿府 家康" in pages[0] and "駿府 築山" not in pages[0]
    assert "駿府 築山" in pages[1]
    assert "221007-20261126-T01-00000007" in pages[0]
    assert "221007-20261126-T01-00000008" in pages[1]
    assert all("1 / 1 ページ" in page and "公用" in page and "個人票" in page for page in pages)


def test_removed_copy_and_foreign_resident_dates(tmp_path: Path) -> None:
    lodger = moved_out(foreign_lodger())
    documents = compose(
        request(CertificateKind.REMOVED_COPY, [LODGER], items=[OptionalItem.RESIDENCE_STATUS]),
        subject([lodger], [household([HEAD, WIFE, CHILD])]),
    )
    text = page_texts(render(documents).pdf, tmp_path)[0]

    assert "住民票の除票の写し" in text
    assert "スミス メアリー" in text
    assert "1990年6月15日" in text and "2028年3月31日" in text  # 西暦 for a foreign resident
    assert "法律・会計業務" in text and "中長期在留者" in text  # 在留資格 by name, as asked
    assert "国籍・地域の記載を省略" in text and "英国" not in text  # 住基法第12条第5項
    assert "令和8年12月10日" in text  # the removal, in 和暦
    assert "転出" in text and "東京都千代田区霞が関二丁目1番2号" in text


def test_move_out_certificate_carries_a_qr_code_of_its_items(tmp_path: Path) -> None:
    records = [moved_out(r) for r in family()]
    documents = compose(request(CertificateKind.MOVE_OUT, [HEAD, WIFE, CHILD]), subject(records), NUMBERS)
    rendered = render(documents)
    text = page_texts(rendered.pdf, tmp_path)[0]

    assert "転出証明書" in text and "東京都千代田区霞が関二丁目1番2号" in text
    assert "令和8年12月10日" in text and "令和8年11月20日" in text
    assert "読み取り用コード" in text
    assert documents[0].machine_readable is not None
    assert json.loads(documents[0].machine_readable)["planned"] == "2026-12-10"
    # The code is drawn as vector modules: many filled squares on the page.
    content = pdf_pages(rendered.pdf)[0].get_contents()
    assert content is not None
    assert content.get_data().count(b" re") > 200


def test_a_household_of_twenty_shrinks_then_overflows_without_cutting(tmp_path: Path) -> None:
    ids = [f"{1000000000 + i:010d}" for i in range(20)]
    members = [
        person(pid, f"員{i:02d}", "イン", date(1950 + i, 1, 1 + i), Sex.MALE if i % 2 else Sex.FEMALE,
               "世帯主" if i == 0 else "同居人")
        for i, pid in enumerate(ids)
    ]  # fmt: skip
    records = subject(members, [household(ids, head=ids[0])])
    documents = compose(request(CertificateKind.RESIDENT_COPY, ids, items=[OptionalItem.KOSEKI]), records)
    rendered = render(documents, first=99)
    pages = page_texts(rendered.pdf, tmp_path)
    text = "\n".join(pages)

    assert rendered.font_sizes == (FLOOR_SIZE,)
    assert rendered.pages == len(pages) >= 2
    for i in range(20):
        assert f"駿府 員{i:02d}" in text
    assert text.index("駿府 員00") < text.index("駿府 員19")
    assert text.count("静岡県静岡市葵区追手町5番地") == 20
    assert "世帯全員の住民票の原本と相違ない" in pages[-1]
    for index, page in enumerate(pages, start=1):
        assert "221007-20261126-T01-00000099" in page
        assert f"{index} / {len(pages)} ページ" in page
    assert all("前ページからの続き" in page for page in pages[1:])


def test_a_long_household_shrinks_before_it_overflows() -> None:
    ids = [f"{1000000000 + i:010d}" for i in range(5)]
    members = [
        person(pid, f"員{i:02d}", "イン", date(1960, 1, 1), Sex.MALE, "世帯主" if i == 0 else "子")
        for i, pid in enumerate(ids)
    ]
    documents = compose(
        request(
            CertificateKind.RESIDENT_COPY,
            ids,
            items=[OptionalItem.HEAD_AND_RELATIONSHIP, OptionalItem.KOSEKI],
        ),
        subject(members, [household(ids, head=ids[0])]),
    )
    rendered = render(documents)

    assert FLOOR_SIZE < rendered.font_sizes[0] < NORMAL_SIZE
    assert rendered.pages == 1


def test_one_issue_number_per_document_is_required() -> None:
    documents = compose(request(CertificateKind.RESIDENT_COPY, [HEAD]), subject(family()[:1]))
    with pytest.raises(ValueError, match="issue number"):
        CertificatePdf().render(documents, [])


def test_the_seal_is_at_most_25_mm_square() -> None:
    assert Seal("静岡市長之印", "IPAexGothic", size=40 * mm).wrap(0, 0) == (25 * mm, 25 * mm)
    assert Seal("静岡市長之印", "IPAexGothic").wrap(0, 0) == (SEAL_SIZE, SEAL_SIZE)
