"""Certificates as a PDF: A4 portrait, IPAex Gothic embedded, drawn from ``CertificateDocument``s
that ``juki.domain.certificate_rules`` has already worded (the renderer decides nothing).

One PDF holds the documents of one issuance, each starting on a new page and carrying its own
issue number; every page prints the number, the issue date, the municipality, the terminal, the
sequence and 「n / N」 counted within its document.

Overflow: a document is first laid out at the normal size; when it does not fit on one page the
font shrinks step by step down to ``FLOOR_SIZE``, and when it still does not fit it continues on
further pages at that size (tables split between rows, a long value inside its row): text is never
cut. The seal (at most 25 mm square) is drawn as vector shapes, so no image file has to ship.
"""

from __future__ import annotations

import io
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO, Any
from xml.sax.saxutils import escape

from reportlab.graphics.barcode.qr import QrCode
from reportlab.lib import colors
from reportlab.lib.enums import TA_CENTER
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase.pdfmetrics import stringWidth
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from juki.adapters.pdf.fonts import japanese_font
from juki.domain.certificates import CertificateDocument, IssueNumber, Layout
from juki.domain.dates import to_wareki

MARGIN = 16 * mm
TOP_MARGIN = 20 * mm  # room for the issue number above the frame
BOTTOM_MARGIN = 18 * mm  # and for the page line below it
FRAME_PADDING = 6  # platypus's Frame pads each side by 6 pt
CONTENT_WIDTH = A4[0] - 2 * MARGIN - 2 * FRAME_PADDING
FRAME_HEIGHT = A4[1] - TOP_MARGIN - BOTTOM_MARGIN - 2 * FRAME_PADDING
LABEL_WIDTH = 34 * mm
CELL_PADDING = 4
NORMAL_SIZE = 10.0
FLOOR_SIZE = 7.0
SIZE_STEP = 0.5
SEAL_SIZE = 22 * mm
MAX_SEAL_SIZE = 25 * mm  # the official seal: at most 25 mm square
QR_SIZE = 36 * mm
RED = colors.Color(0.8, 0.1, 0.1)
# Rounding: a story measured this close to the frame height is taken as not fitting.
FIT_TOLERANCE = 4.0


@dataclass(frozen=True)
class RenderedCertificate:
    pdf: bytes
    pages: int
    page_counts: tuple[int, ...] = ()  # pages of each document, in order
    font_sizes: tuple[float, ...] = ()  # the body size each document was set in (shrunk when long)


class _Styles:
    def __init__(self, font: str, size: float) -> None:
        leading = size * 1.35
        self.size = size
        self.title = ParagraphStyle(
            "title", fontName=font, fontSize=size + 8, leading=size + 14, alignment=TA_CENTER
        )
        self.body = ParagraphStyle("body", fontName=font, fontSize=size, leading=leading, wordWrap="CJK")
        self.label = ParagraphStyle(
            "label", fontName=font, fontSize=size - 1, leading=leading - 1, wordWrap="CJK"
        )
        self.name = ParagraphStyle(
            "name", fontName=font, fontSize=size + 2, leading=leading + 2, wordWrap="CJK"
        )
        self.mark = ParagraphStyle(
            "mark", fontName=font, fontSize=size + 4, leading=size + 8, alignment=TA_CENTER, textColor=RED
        )


def _font(styles: _Styles) -> tuple[Any, ...]:
    """A table's own font: reportlab's default (Helvetica) would be named, unembedded, in the file."""
    return ("FONTNAME", (0, 0), (-1, -1), styles.body.fontName)


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(escape(text).replace("\n", "<br/>"), style)


class _DocumentStart(Flowable):
    """Zero-size marker: the pages from here on belong to document ``index`` (for 「n / N」)."""

    def __init__(self, index: int) -> None:
        super().__init__()
        self.index = index

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        return 0, 0

    def draw(self) -> None:
        self.canv._juki_document = self.index  # type: ignore[attr-defined]  # read back per saved page


class _IssueCanvas(Canvas):
    """Keeps each page's state until the end, then prints the issue number and 「n / N」 of its
    document on every page (the count is known only once all pages are laid out)."""

    def __init__(
        self, filename: str | IO[bytes], headers: Sequence[tuple[str, str]], font: str, **options: Any
    ):
        super().__init__(filename, **options)
        self.headers = headers
        self.font = font
        self._juki_document = 0
        self._saved: list[dict[str, Any]] = []

    def showPage(self) -> None:
        self._saved.append(dict(self.__dict__))
        self._startPage()  # type: ignore[attr-defined]  # reportlab's own page reset

    def page_documents(self) -> list[int]:
        return [int(state["_juki_document"]) for state in self._saved]

    def save(self) -> None:
        documents = self.page_documents()
        totals = {index: documents.count(index) for index in set(documents)}
        seen: dict[int, int] = {}
        for state, index in zip(self._saved, documents, strict=True):
            self.__dict__.update(state)
            seen[index] = seen.get(index, 0) + 1
            top, bottom = self.headers[index]
            page = f"{seen[index]} / {totals[index]}"
            self.setFont(self.font, 8)
            self.setFillColor(colors.black)
            self.drawRightString(A4[0] - MARGIN, A4[1] - 11 * mm, top)
            self.drawString(MARGIN, 9 * mm, bottom)
            self.drawRightString(A4[0] - MARGIN, 9 * mm, f"{page} ページ")
            if seen[index] > 1:
                self.drawString(MARGIN, A4[1] - 11 * mm, "(前ページからの続き)")
            super().showPage()
        super().save()


class Seal(Flowable):
    """The official seal (公印): a square with the text in vertical columns, right to left, in black
    as the standard specification asks of an electronic seal (at most 25 mm square).
    Drawn on the canvas (not a reportlab Drawing, which would name an unembedded base font)."""

    def __init__(self, text: str, font: str, size: float = SEAL_SIZE) -> None:
        super().__init__()
        self.text = text
        self.font = font
        self.size = min(size, MAX_SEAL_SIZE)

    def wrap(self, availWidth: float, availHeight: float) -> tuple[float, float]:
        return self.size, self.size

    def draw(self) -> None:
        canvas, size, text = self.canv, self.size, self.text
        canvas.saveState()
        canvas.setStrokeColor(colors.black)
        canvas.setFillColor(colors.black)
        canvas.setLineWidth(1.6)
        canvas.rect(1, 1, size - 2, size - 2, stroke=1, fill=0)
        columns = 2 if len(text) > 3 else 1
        per_column = math.ceil(len(text) / columns)
        inner = size - 6
        glyph = min(inner / per_column, inner / columns)
        canvas.setFont(self.font, glyph * 0.9)
        for column in range(columns):
            chars = text[column * per_column : (column + 1) * per_column]
            x = size - 3 - glyph * (column + 0.5)
            for row, char in enumerate(chars):
                canvas.drawCentredString(x, size - 3 - glyph * (row + 1) + glyph * 0.15, char)
        canvas.restoreState()


def seal_text(document: CertificateDocument) -> str:
    """「静岡市長之印」 from the certifier's title (「静岡市長 駿府 太郎」), else from the municipality."""
    title = document.mayor_title_and_name.split()
    return f"{title[0]}之印" if title else f"{document.municipality_name}長之印"


class CertificatePdf:
    """Renders the documents of one issuance into one PDF."""

    def render(self, documents: list[CertificateDocument], numbers: list[IssueNumber]) -> RenderedCertificate:
        if not documents or len(documents) != len(numbers):
            raise ValueError("one issue number per document")
        font = japanese_font()
        story: list[Flowable] = []
        sizes: list[float] = []
        for index, document in enumerate(documents):
            size, flowables = self._fitted(document, font)
            sizes.append(size)
            if index:
                story.append(PageBreak())
            story += [_DocumentStart(index), *flowables]
        headers = [
            self._header(document, number) for document, number in zip(documents, numbers, strict=True)
        ]
        pdf, pages = self._build(story, headers, font, documents[0].title)
        return RenderedCertificate(
            pdf=pdf,
            pages=len(pages),
            page_counts=tuple(pages.count(i) for i in range(len(documents))),
            font_sizes=tuple(sizes),
        )

    @staticmethod
    def _header(document: CertificateDocument, number: IssueNumber) -> tuple[str, str]:
        top = f"交付番号 {number.text}"
        bottom = (
            f"交付日 {to_wareki(number.issued_on)}  {document.municipality_name} ({number.municipality_code})"
            f"  端末 {number.terminal}  通番 {number.sequence}"
        )
        return top, bottom

    def _fitted(self, document: CertificateDocument, font: str) -> tuple[float, list[Flowable]]:
        """The document at the largest size (in steps of ``SIZE_STEP``) that fits one page; at the
        floor size, running on to further pages, when none does.

        Laying out is most of a render's cost, so the search starts from a guess (the height grows
        about in proportion to the size) and walks from there: two or three layouts, not one per step.
        """
        room = FRAME_HEIGHT - FIT_TOLERANCE
        tried: dict[float, tuple[float, list[Flowable]]] = {}

        def attempt(size: float) -> bool:
            if size not in tried:
                flowables = self._story(document, _Styles(font, size))
                tried[size] = (_height(flowables), flowables)
            return tried[size][0] <= room

        def snapped(size: float) -> float:
            steps = math.floor((size - FLOOR_SIZE) / SIZE_STEP + 1e-9)
            return min(NORMAL_SIZE, max(FLOOR_SIZE, FLOOR_SIZE + steps * SIZE_STEP))

        if attempt(NORMAL_SIZE):
            return NORMAL_SIZE, tried[NORMAL_SIZE][1]
        size = snapped(NORMAL_SIZE * room / tried[NORMAL_SIZE][0])
        if attempt(size):
            while size + SIZE_STEP < NORMAL_SIZE and attempt(size + SIZE_STEP):
                size += SIZE_STEP
        else:
            while size > FLOOR_SIZE and not attempt(size - SIZE_STEP):
                size -= SIZE_STEP
            size = max(FLOOR_SIZE, size - SIZE_STEP)
            attempt(size)
        return size, tried[size][1]

    def _story(self, document: CertificateDocument, styles: _Styles) -> list[Flowable]:
        story: list[Flowable] = [self._title(document, styles)]
        if document.as_of_text:
            story.append(_p(document.as_of_text, styles.body))
        story += [
            Spacer(1, 3 * mm),
            self._pairs([(i.label, i.value) for i in document.household_items], styles),
        ]
        for person in document.persons:
            story.append(Spacer(1, 2 * mm))
            story.append(self._person(person.name, [(i.label, i.value) for i in person.items], styles))
        if document.omissions:
            story.append(Spacer(1, 2 * mm))
            story.append(_p("(省略事項) " + "、".join(document.omissions), styles.label))
        if document.machine_readable:
            story.append(Spacer(1, 3 * mm))
            story.append(self._code(document.machine_readable, styles))
        story.append(Spacer(1, 5 * mm))
        story.append(self._certification(document, styles))
        return story

    @staticmethod
    def _title(document: CertificateDocument, styles: _Styles) -> Flowable:
        layout = "世帯連記式" if document.layout is Layout.HOUSEHOLD else "個人票"
        mark = _p("公用", styles.mark) if document.official_use else _p("", styles.body)
        table = Table(
            [[_p(layout, styles.label), _p(document.title, styles.title), mark]],
            colWidths=[30 * mm, CONTENT_WIDTH - 60 * mm, 30 * mm],
        )
        commands: list[tuple[Any, ...]] = [("VALIGN", (0, 0), (-1, -1), "MIDDLE"), _font(styles)]
        if document.official_use:
            commands.append(("BOX", (2, 0), (2, 0), 1.2, RED))
        table.setStyle(TableStyle(commands))
        return table

    @staticmethod
    def _grid(styles: _Styles) -> list[tuple[Any, ...]]:
        return [
            _font(styles),
            ("GRID", (0, 0), (-1, -1), 0.5, colors.black),
            ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ("TOPPADDING", (0, 0), (-1, -1), 2),
            ("BOTTOMPADDING", (0, 0), (-1, -1), 2),
            ("LEFTPADDING", (0, 0), (-1, -1), CELL_PADDING),
            ("RIGHTPADDING", (0, 0), (-1, -1), CELL_PADDING),
            ("BACKGROUND", (0, 0), (0, -1), colors.Color(0.94, 0.94, 0.94)),
        ]

    def _pairs(self, rows: Sequence[tuple[str, str]], styles: _Styles) -> Table:
        data = [[_p(k, styles.label), _p(v, styles.body)] for k, v in rows]
        table = Table(data, colWidths=[LABEL_WIDTH, CONTENT_WIDTH - LABEL_WIDTH], splitInRow=1, hAlign="LEFT")
        table.setStyle(TableStyle(self._grid(styles)))
        return table

    def _person(self, name: str, rows: Sequence[tuple[str, str]], styles: _Styles) -> Table:
        """One person: the name across, then the items two to a row (label, value, label, value);
        a value too long for half a row (an address) gets a row of its own."""
        half = (CONTENT_WIDTH - 2 * LABEL_WIDTH) / 2
        blank = _p("", styles.body)
        data: list[list[Any]] = [[_p("氏名", styles.label), _p(name, styles.name), blank, blank]]
        spans: list[int] = [0]
        pending: list[Any] = []
        for label, value in rows:
            cells = [_p(label, styles.label), _p(value, styles.body)]
            if stringWidth(value, styles.body.fontName, styles.size) <= half - 2 * CELL_PADDING:
                pending += cells
                if len(pending) == 4:
                    data.append(pending)
                    pending = []
                continue
            if pending:
                data.append([*pending, blank, blank])
                pending = []
            spans.append(len(data))
            data.append([*cells, blank, blank])
        if pending:
            data.append([*pending, blank, blank])
        table = Table(
            data, colWidths=[LABEL_WIDTH, half, LABEL_WIDTH, half], splitInRow=1, hAlign="LEFT", repeatRows=1
        )
        commands = self._grid(styles) + [("SPAN", (1, row), (3, row)) for row in spans]
        commands += [
            ("BACKGROUND", (2, row), (2, row), colors.Color(0.94, 0.94, 0.94))
            for row in range(1, len(data))
            if row not in spans
        ]
        table.setStyle(TableStyle(commands))
        return table

    @staticmethod
    def _code(data: str, styles: _Styles) -> Flowable:
        note = _p("読み取り用コード: この転出証明書の記載事項 (転入地の市町村での入力用)", styles.label)
        code = QrCode(data, width=QR_SIZE, height=QR_SIZE, qrLevel="M", qrBorder=2)
        table = Table([[code, note]], colWidths=[QR_SIZE + 4 * mm, CONTENT_WIDTH - QR_SIZE - 4 * mm])
        table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "MIDDLE"), _font(styles)]))
        return table  # one row: never split

    @staticmethod
    def _certification(document: CertificateDocument, styles: _Styles) -> Flowable:
        """The certification text, the issue date and the certifier, with the seal beside them: one
        table row, which is never split, so the seal never stands apart from the text it certifies."""
        text = [
            _p(document.certification_text, styles.body),
            Spacer(1, 2 * mm),
            _p(document.issued_on_text, styles.body),
            Spacer(1, 2 * mm),
            _p(document.mayor_title_and_name, styles.name),
        ]
        font = styles.body.fontName
        table = Table(
            [[text, Seal(seal_text(document), font)]],
            colWidths=[CONTENT_WIDTH - SEAL_SIZE - 8 * mm, SEAL_SIZE + 8 * mm],
        )
        table.setStyle(TableStyle([("VALIGN", (0, 0), (-1, -1), "BOTTOM"), _font(styles)]))
        return table

    @staticmethod
    def _build(
        story: list[Flowable], headers: list[tuple[str, str]], font: str, title: str
    ) -> tuple[bytes, list[int]]:
        buffer = io.BytesIO()
        document = SimpleDocTemplate(
            buffer,
            pagesize=A4,
            leftMargin=MARGIN,
            rightMargin=MARGIN,
            topMargin=TOP_MARGIN,
            bottomMargin=BOTTOM_MARGIN,
            title=title,
            author="住民記録システム",
        )
        made: list[_IssueCanvas] = []

        def canvas(filename: str | IO[bytes], /, **options: Any) -> Canvas:
            options["initialFontName"] = font  # no unembedded Helvetica in the file
            made.append(_IssueCanvas(filename, headers, font, **options))
            return made[-1]

        document.build(story, canvasmaker=canvas)
        return buffer.getvalue(), made[-1].page_documents()


def _height(flowables: Sequence[Flowable]) -> float:
    """The height the flowables take in one column of the frame's width."""
    scratch = Canvas(io.BytesIO())
    total = 0.0
    for flowable in flowables:
        _, height = flowable.wrapOn(scratch, CONTENT_WIDTH, FRAME_HEIGHT)
        total += height + flowable.getSpaceBefore() + flowable.getSpaceAfter()
    return total
