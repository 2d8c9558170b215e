"""The disclosure report (開示資料) as a PDF: A4 portrait, IPAex Gothic embedded, dates in 和暦.

Every record version is printed item by item from the record's own model: the label of an item
is its field description (the Japanese name the API documents), so a new item of the record
appears in the report without a change here. Content flows onto further pages, rows of a table
split across pages, and a long value splits inside its row: nothing is cut.

The building blocks (``Pdf``: styles, key/value tables, list tables, page numbers "n / N") are
meant to be reused by the certificates.
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator, Sequence
from datetime import date, datetime
from enum import Enum
from typing import IO, Any
from xml.sax.saxutils import escape

from pydantic import BaseModel
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from juki.adapters.pdf.fonts import japanese_font
from juki.adapters.system import JST
from juki.domain.dates import PartialDate, to_seireki, to_wareki
from juki.domain.my_number import SealedMyNumber
from juki.domain.records import PersonRecord
from juki.domain.values import MovementKind, Sex
from juki.services.disclosure import DisclosureReport

MARGIN = 18 * mm
CONTENT_WIDTH = A4[0] - 2 * MARGIN
LABEL_WIDTH = 52 * mm
MAX_LABEL_NOTE = 12

MOVEMENT_KIND_NAMES: dict[str, str] = {
    MovementKind.MOVE_IN: "転入",
    MovementKind.IN_CITY_MOVE: "転居",
    MovementKind.MOVE_OUT: "転出",
    MovementKind.MOVE_OUT_CONFIRMATION: "転出確定 (転入通知)",
    MovementKind.BIRTH: "出生",
    MovementKind.DEATH: "死亡・失踪",
    MovementKind.HEAD_CHANGE: "世帯主変更",
    MovementKind.HOUSEHOLD_SPLIT: "世帯分離",
    MovementKind.HOUSEHOLD_MERGE: "世帯合併",
    MovementKind.HOUSEHOLD_CHANGE: "世帯変更",
    MovementKind.NAME_DETAILS_CHANGE: "通称・旧氏・英字氏名の変更",
    MovementKind.FOREIGN_RESIDENT_CHANGE: "在留資格等の変更",
    MovementKind.RESIDENT_CODE_CHANGE: "住民票コードの変更",
    MovementKind.MY_NUMBER_CHANGE: "個人番号の変更",
    MovementKind.QUALIFICATION_CHANGE: "資格情報の変更",
    MovementKind.CORRECTION: "職権修正・誤記修正",
    MovementKind.CANCELLATION: "異動の取消し",
    MovementKind.MIGRATION: "データ移行",
}
SEX_NAMES = {Sex.MALE: "男", Sex.FEMALE: "女"}
# Labels for fields whose description is a list of codes ("active=存続, dissolved=消滅").
FIELD_LABELS = {"status": "状態", "kind": "種類", "level": "レベル", "category": "区分", "target": "対象"}
STATUS_NAMES = {"pending": "送信待ち", "sent": "送信済み", "delivered": "送達済み", "failed": "送信失敗"}
CATEGORY_NAMES = {"provision": "提供", "transfer": "移転"}
_CODE_NAMES = re.compile(r"([a-z_]+)=([^,、()（）]+)")


# -- value formatting ----------------------------------------------------------------------------


def wareki(day: date) -> str:
    """和暦; a day before 明治 (never in the ledger, but the display must not fail) in 西暦."""
    try:
        return to_wareki(day)
    except ValueError:
        return to_seireki(day)


def wareki_time(moment: datetime) -> str:
    local = moment.astimezone(JST)
    return f"{wareki(local.date())} {local.hour}時{local.minute:02d}分"


def _label(name: str, description: str | None) -> str:
    """The field's description, without a long explanation in brackets (a short one, such as
    "(フリガナ、全角カタカナ)", tells two items apart and stays); a list of codes is no label."""
    match = re.match(r"(?P<name>[^(（:]+?)\s*(?:[(（](?P<note>[^)）]*)[)）])?\s*(?::.*)?$", description or "")
    if match is None or "=" in match["name"]:
        return FIELD_LABELS.get(name, name)
    label, note = str(match["name"]), match["note"]
    if note and len(note) <= MAX_LABEL_NOTE and "=" not in note and not note.startswith("例"):
        return f"{label} ({note})"
    return label


def _code_name(value: Enum, description: str | None) -> str:
    """An enum's value by the names its field description gives ("active=存続, ..."), else itself."""
    if isinstance(value, Sex):
        return SEX_NAMES[value]
    if isinstance(value, MovementKind):
        return MOVEMENT_KIND_NAMES.get(value, str(value.value))
    names: dict[str, str] = dict(_CODE_NAMES.findall(description or ""))
    return names.get(str(value.value), str(value.value))


def display(value: Any, description: str | None = None) -> str:
    """One scalar value as printed."""
    text: str
    if isinstance(value, SealedMyNumber):
        text = "記録あり (「ご本人」の個人番号の欄を参照)"
    elif isinstance(value, PartialDate):
        text = value.to_wareki()
    elif isinstance(value, datetime):
        text = wareki_time(value)
    elif isinstance(value, date):
        text = to_seireki(value) if description and "西暦" in description else wareki(value)
    elif isinstance(value, bool):
        text = "はい" if value else "いいえ"
    elif isinstance(value, Enum):
        text = _code_name(value, description)
    else:
        text = str(value)
    return text


def items(model: BaseModel, prefix: str = "") -> Iterator[tuple[str, str]]:
    """Every recorded item of a model as (label, text), nested items labelled "親 / 子"; items
    with nothing recorded (null, empty) are left out."""
    fields = type(model).model_fields
    for name, field in fields.items():
        value = getattr(model, name)
        label = f"{prefix}{_label(name, field.description)}"
        yield from _value_items(label, value, field.description)


def _value_items(label: str, value: Any, description: str | None) -> Iterator[tuple[str, str]]:
    if value is None or value in ([], ""):
        return
    if isinstance(value, SealedMyNumber) or not isinstance(value, BaseModel | list):
        yield label, display(value, description)
    elif isinstance(value, PartialDate):
        yield label, value.to_wareki()
    elif isinstance(value, BaseModel):
        yield from items(value, f"{label} / ")
    elif all(not isinstance(v, BaseModel) for v in value):
        yield label, "、".join(display(v, description) for v in value)
    else:
        for index, element in enumerate(value, start=1):
            yield from _value_items(f"{label} {index}", element, description)


def person_items(person: PersonRecord) -> list[tuple[str, str]]:
    """A record version's items; a foreign resident's birth date in 西暦 (標準仕様書)."""
    rows = list(items(person))
    if person.foreign_resident is not None and person.birth_date_partial is None:
        birth = _label("birth_date", PersonRecord.model_fields["birth_date"].description)
        rows = [(k, to_seireki(person.birth_date) if k == birth else v) for k, v in rows]
    return rows


def full_name(person: PersonRecord) -> str:
    return f"{person.name.family_name} {person.name.given_name}"


def birth_text(person: PersonRecord) -> str:
    if person.birth_date_partial is not None:
        return person.birth_date_partial.to_wareki()
    return to_seireki(person.birth_date) if person.foreign_resident else wareki(person.birth_date)


# -- building blocks -----------------------------------------------------------------------------


class _NumberedCanvas(Canvas):
    """Writes "n / N" and a footer on each page once the page count is known (two passes over the
    saved page states)."""

    def __init__(self, filename: str | IO[bytes], footer: str, font: str, **options: Any) -> None:
        super().__init__(filename, **options)
        self.footer = footer
        self.font = font
        self._pages: list[dict[str, Any]] = []

    def showPage(self) -> None:
        self._pages.append(dict(self.__dict__))
        self._startPage()  # type: ignore[attr-defined]  # reportlab's own page reset

    def save(self) -> None:
        total = len(self._pages)
        for state in self._pages:
            self.__dict__.update(state)
            self.setFont(self.font, 8)
            self.setFillColor(colors.grey)
            self.drawString(MARGIN, 10 * mm, self.footer)
            self.drawRightString(A4[0] - MARGIN, 10 * mm, f"{self.getPageNumber()} / {total} ページ")
            super().showPage()
        super().save()


class Pdf:
    """Styles and tables in the embedded Japanese font."""

    def __init__(self) -> None:
        font = japanese_font()
        self.font = font
        self.title = ParagraphStyle("title", fontName=font, fontSize=16, leading=22, alignment=TA_CENTER)
        self.heading = ParagraphStyle(
            "heading", fontName=font, fontSize=12, leading=17, spaceBefore=10, spaceAfter=4
        )
        self.subheading = ParagraphStyle(
            "subheading", fontName=font, fontSize=10, leading=14, spaceBefore=6, spaceAfter=2
        )
        self.body = ParagraphStyle("body", fontName=font, fontSize=9, leading=13, wordWrap="CJK")
        self.small = ParagraphStyle("small", fontName=font, fontSize=8, leading=11, wordWrap="CJK")

    def text(self, value: str, style: ParagraphStyle | None = None) -> Paragraph:
        return Paragraph(escape(value).replace("\n", "<br/>"), style or self.body)

    def pairs(self, rows: Sequence[tuple[str, str]]) -> Table:
        """A two-column table of label and value."""
        data = [[self.text(k, self.small), self.text(v)] for k, v in rows] or [
            [self.text("記録なし", self.small), self.text("")]
        ]
        table = Table(data, colWidths=[LABEL_WIDTH, CONTENT_WIDTH - LABEL_WIDTH], splitInRow=1, hAlign="LEFT")
        table.setStyle(self._grid(header=False))
        return table

    def listing(self, header: Sequence[str], rows: Sequence[Sequence[str]], widths: Sequence[float]) -> Table:
        """A table with a header row repeated on each page."""
        scale = CONTENT_WIDTH / sum(widths)
        data = [[self.text(h, self.small) for h in header]]
        data += [[self.text(cell, self.small) for cell in row] for row in rows]
        table = Table(data, colWidths=[w * scale for w in widths], repeatRows=1, splitInRow=1, hAlign="LEFT")
        table.setStyle(self._grid(header=True))
        return table

    @staticmethod
    def _grid(header: bool) -> TableStyle:
        commands: list[tuple[Any, ...]] = [
            ("GRID", (0, 0), (-1, -1), 0.4, colors.grey),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("TOPPADDING", (0, 0), (-1, -1), 2),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
        ]
        if header:
            commands.append(("BACKGROUND", (0, 0), (-1, 0), colors.Color(0.9, 0.9, 0.9)))
        else:
            commands.append(("BACKGROUND", (0, 0), (0, -1), colors.Color(0.95, 0.95, 0.95)))
        return TableStyle(commands)

    def build(self, story: list[Flowable], footer: str, title: str) -> bytes:
        buffer = io.BytesIO()
        document = SimpleDocTemplate(
            buffer,
            pagesize=A4,
            leftMargin=MARGIN,
            rightMargin=MARGIN,
            topMargin=MARGIN,
            bottomMargin=MARGIN,
            title=title,
            author="住民記録システム",
        )
        font = self.font

        def canvas(filename: str | IO[bytes], /, **options: Any) -> Canvas:
            options["initialFontName"] = font  # no unembedded Helvetica in the file
            return _NumberedCanvas(filename, footer, font, **options)

        document.build(story, canvasmaker=canvas)
        return buffer.getvalue()


# -- the report ----------------------------------------------------------------------------------


class DisclosurePdf:
    """Implements ``ReportRenderer``."""

    def render(self, report: DisclosureReport) -> bytes:
        pdf = Pdf()
        story: list[Flowable] = [
            pdf.text("保有個人情報の開示資料 (住民記録)", pdf.title),
            Spacer(1, 4 * mm),
            pdf.pairs(self._about(report)),
        ]
        story += self._subject(pdf, report)
        story += self._records(pdf, report)
        story += self._households(pdf, report)
        story += self._movements(pdf, report)
        story += self._restrictions(pdf, report)
        story += self._provisions(pdf, report)
        story += self._certificates(pdf, report)
        story.append(pdf.text("この資料について", pdf.heading))
        story += [pdf.text(f"・{note}") for note in report.notes]
        return pdf.build(
            story, footer=f"開示資料番号 {report.report_id}", title=f"開示資料 {report.report_id}"
        )

    @staticmethod
    def _about(report: DisclosureReport) -> list[tuple[str, str]]:
        request = report.request
        rows = [
            ("開示資料番号", report.report_id),
            ("作成日時", wareki_time(report.prepared_at)),
            ("作成した職員", f"{report.prepared_by} ({report.office})"),
            ("請求者", request.requester),
            ("確認した本人確認書類", request.identity_document),
        ]
        if request.reference:
            rows.append(("受付番号", request.reference))
        return rows

    @staticmethod
    def _subject(pdf: Pdf, report: DisclosureReport) -> list[Flowable]:
        current = report.records[-1]
        address = current.address
        rows = [
            ("宛名番号", report.person_id),
            ("氏名", full_name(current)),
            ("フリガナ", f"{current.name.family_name_kana} {current.name.given_name_kana}"),
            ("生年月日", birth_text(current)),
            ("性別", SEX_NAMES[current.sex]),
            ("住所", f"{address.ward}{address.town}{address.lot} {address.katagaki or ''}".strip()),
            ("状態", "除票" if current.status.value == "removed" else "在住"),
            ("個人番号", report.my_number or "記録なし"),
        ]
        if report.previous_my_numbers:
            rows.append(("以前の個人番号", "、".join(report.previous_my_numbers)))
        return [pdf.text("1. ご本人", pdf.heading), pdf.pairs(rows)]

    @staticmethod
    def _records(pdf: Pdf, report: DisclosureReport) -> list[Flowable]:
        story: list[Flowable] = [pdf.text(f"2. 住民票の記録 (全{len(report.records)}版)", pdf.heading)]
        for person in report.records:
            kind = MOVEMENT_KIND_NAMES.get(person.movement_kind, person.movement_kind.value)
            heading = f"第{person.version}版 {wareki(person.effective_date)} {kind}"
            rows = person_items(person)
            # The heading stays with the first rows; the rest of a long version flows on.
            story.append(KeepTogether([pdf.text(heading, pdf.subheading), pdf.pairs(rows[:3])]))
            if rows[3:]:
                story.append(pdf.pairs(rows[3:]))
        return story

    @staticmethod
    def _households(pdf: Pdf, report: DisclosureReport) -> list[Flowable]:
        rows = [
            [
                h.household_id,
                str(h.version),
                wareki(h.effective_date),
                "本人" if h.head_is_self else (h.head_name or "なし"),
                h.relationship or ("(この異動で離脱)" if not h.member else ""),
                "存続" if h.status.value == "active" else "消滅",
            ]
            for h in report.households
        ]
        header = ["世帯番号", "版", "異動日", "世帯主", "続柄", "世帯の状態"]
        return [
            pdf.text("3. 属した世帯", pdf.heading),
            pdf.listing(header, rows, [22, 8, 26, 26, 22, 14]) if rows else pdf.text("記録はありません。"),
        ]

    @staticmethod
    def _movements(pdf: Pdf, report: DisclosureReport) -> list[Flowable]:
        rows = [
            [
                wareki(m.effective_date),
                MOVEMENT_KIND_NAMES.get(m.kind, m.kind.value),
                wareki(m.notified_date),
                wareki_time(m.recorded_at),
                "、".join(f"第{v}版" for v in m.versions),
            ]
            for m in report.movements
        ]
        header = ["異動日", "異動の種類", "届出日", "処理日時", "記録した版"]
        return [pdf.text("4. 異動", pdf.heading), pdf.listing(header, rows, [24, 26, 24, 32, 18])]

    @staticmethod
    def _restrictions(pdf: Pdf, report: DisclosureReport) -> list[Flowable]:
        story: list[Flowable] = [pdf.text("5. 抑止・支援措置", pdf.heading)]
        if not report.restrictions and not report.support_measures:
            story.append(pdf.text("設定された記録はありません。"))
        for restriction in report.restrictions:
            story.append(pdf.text(f"抑止 {restriction.restriction_id}", pdf.subheading))
            story.append(pdf.pairs(list(items(restriction))))
        for measure in report.support_measures:
            story.append(pdf.text(f"支援措置 {measure.measure_id}", pdf.subheading))
            story.append(pdf.pairs(list(items(measure))))
        return story

    @staticmethod
    def _provisions(pdf: Pdf, report: DisclosureReport) -> list[Flowable]:
        rows = [
            [
                wareki_time(p.created_at) if p.created_at else "",
                CATEGORY_NAMES.get(p.category, p.category),
                p.destination_name,
                p.kind_name + (f" (第{p.record_version}版)" if p.record_version else ""),
                STATUS_NAMES.get(p.status, p.status),
            ]
            for p in report.provisions
        ]
        header = ["記録日時", "区分", "提供・移転先", "内容", "状態"]
        return [
            pdf.text("6. 提供・移転の記録", pdf.heading),
            pdf.listing(header, rows, [34, 10, 40, 36, 14]) if rows else pdf.text("記録はありません。"),
        ]

    @staticmethod
    def _certificates(pdf: Pdf, report: DisclosureReport) -> list[Flowable]:
        section = report.certificates
        story: list[Flowable] = [pdf.text("7. 証明書の交付履歴", pdf.heading)]
        if section.note:
            story.append(pdf.text(section.note))
        if section.issuances:
            rows = [
                [wareki_time(i.issued_at), i.certificate, i.requester, str(i.copies)]
                for i in section.issuances
            ]
            story.append(pdf.listing(["交付日時", "証明書", "請求者", "通数"], rows, [30, 40, 40, 10]))
        elif section.source_available:
            story.append(pdf.text("交付の記録はありません。"))
        return story
