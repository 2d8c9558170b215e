"""The cost of a certificate: pages per second and peak memory for a 住民票の写し (世帯連記式) of a
household of six, as ratios to rendering a blank A4 page with reportlab in the same run.

Both sides run in the same process, interleaved (A B B A …) after a warm-up, so drift on a shared
machine falls on both alike; the font is registered once before either is timed (a container does
that once too). Peak memory is ``tracemalloc``'s peak over one render, Python allocations only.

``python -m bench certificates`` runs this section alone and replaces it in docs/benchmarks.md;
``section(measure())`` gives its lines for the full report.
"""

from __future__ import annotations

import io
import statistics
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from juki.adapters.pdf.certificates import FLOOR_SIZE, NORMAL_SIZE, CertificatePdf
from juki.adapters.pdf.fonts import japanese_font
from juki.domain.certificate_rules import compose
from juki.domain.certificates import (
    CertificateDocument,
    CertificateKind,
    CertificateRequest,
    CertificateSubject,
    FeeCategory,
    IssueNumber,
    Layout,
    OptionalItem,
    RequesterKind,
)
from juki.domain.record_items import KosekiDomicile
from juki.domain.records import HouseholdRecord, PersonRecord
from juki.domain.values import Address, MovementKind, OtherAddress, PersonName, ResidentStatus, Sex
from reportlab.lib.pagesizes import A4
from reportlab.pdfgen.canvas import Canvas

HEADING = "## Certificates: a household copy of six (issue 5)"
MEMBERS = 6
ROUNDS = 15  # interleaved rounds; each round renders the certificate once and the blank page BLANKS times
BLANKS = 20
TODAY = date(2026, 11, 26)
NOW = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
HOUSEHOLD = "0000000019"


@dataclass(frozen=True)
class CertificateFigures:
    pages: int
    certificate_seconds: float  # median, one render of the certificate
    compose_seconds: float  # median, compose() alone
    blank_seconds: float  # median, one blank page
    certificate_peak: int  # bytes
    blank_peak: int
    pdf_bytes: int
    font_size: float  # the body size the document was set in (shrunk to fit one page)
    seconds: float

    @property
    def pages_per_second(self) -> float:
        return self.pages / self.certificate_seconds

    @property
    def blank_pages_per_second(self) -> float:
        return 1 / self.blank_seconds


def household_of_six() -> tuple[CertificateRequest, CertificateSubject]:
    """Six made-up members, every optional item but 個人番号 asked for (the number needs the vault)."""
    address = Address(
        postal_code="420-0853", ward="葵区", town="追手町", lot="5番1号", katagaki="計測ハイツ101"
    )
    ids = [f"{1000000000 + i:010d}" for i in range(MEMBERS)]
    given = ["太郎", "花子", "一郎", "二郎", "三郎", "春子"]
    relationship = ["世帯主", "妻", "子", "子", "子", "母"]
    persons = [
        PersonRecord(
            person_id=pid, version=1, household_id=HOUSEHOLD, resident_code=f"1{pid}",
            name=PersonName(family_name="計測", given_name=given[i], family_name_kana="ケイソク",
                            given_name_kana="タロウ"),
            birth_date=date(1950 + 10 * (i % 5), 1 + i, 1 + i), sex=Sex.MALE if i % 2 == 0 else Sex.FEMALE,
            relationship=relationship[i], address=address,
            koseki=KosekiDomicile(domicile="静岡県静岡市葵区追手町5番地", head="計測 太郎"),
            previous_address=OtherAddress(prefecture="東京都", municipality="千代田区", street="霞が関二丁目1番2号"),
            resident_since=date(2020, 4, 1), address_since=date(2020, 4, 1), notified_date=date(2020, 4, 3),
            status=ResidentStatus.RESIDENT, movement_id="m" * 32, movement_kind=MovementKind.MOVE_IN,
            effective_date=date(2020, 4, 1), recorded_at=NOW,
        )
        for i, pid in enumerate(ids)
    ]  # fmt: skip
    household = HouseholdRecord(
        household_id=HOUSEHOLD, version=1, head_person_id=ids[0], member_ids=ids, address=address,
        movement_id="m" * 32, effective_date=date(2020, 4, 1), recorded_at=NOW,
    )  # fmt: skip
    request = CertificateRequest(
        kind=CertificateKind.RESIDENT_COPY, layout=Layout.HOUSEHOLD, person_ids=ids,
        items=[OptionalItem.HEAD_AND_RELATIONSHIP, OptionalItem.KOSEKI, OptionalItem.RESIDENT_CODE],
        requester_kind=RequesterKind.SELF, requester_name="計測 太郎", purpose="計測", fee_category=FeeCategory.PAID,
    )  # fmt: skip
    subject = CertificateSubject(
        as_of=TODAY, today=TODAY, municipality_name="静岡市", mayor_title_and_name="静岡市長 計測 一郎",
        persons=persons, households={HOUSEHOLD: household}, heads={HOUSEHOLD: persons[0]},
    )  # fmt: skip
    return request, subject


def blank_page() -> bytes:
    buffer = io.BytesIO()
    canvas = Canvas(buffer, pagesize=A4)
    canvas.showPage()
    canvas.save()
    return buffer.getvalue()


def _timed(action: Callable[[], Any]) -> float:
    start = time.perf_counter()
    action()
    return time.perf_counter() - start


def _peak(action: Callable[[], Any]) -> int:
    tracemalloc.start()
    try:
        action()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def measure() -> CertificateFigures:
    started = time.perf_counter()
    japanese_font()  # registered once per process, as in a warm container
    request, subject = household_of_six()
    documents: list[CertificateDocument] = compose(request, subject)
    number = IssueNumber(issued_on=TODAY, municipality_code="221007", terminal="T01", sequence=1)
    renderer = CertificatePdf()

    def certificate() -> bytes:
        return renderer.render(documents, [number]).pdf

    def blanks() -> None:
        for _ in range(BLANKS):
            blank_page()

    for _ in range(3):  # warm-up
        certificate()
        blanks()
    cert_times: list[float] = []
    blank_times: list[float] = []
    for round_ in range(ROUNDS):
        pair = [(cert_times, certificate), (blank_times, blanks)]
        for samples, action in pair if round_ % 2 == 0 else pair[::-1]:
            samples.append(_timed(action))
    compose_times = [_timed(lambda: compose(request, subject)) for _ in range(ROUNDS)]
    rendered = renderer.render(documents, [number])
    return CertificateFigures(
        pages=rendered.pages,
        certificate_seconds=statistics.median(cert_times),
        compose_seconds=statistics.median(compose_times),
        blank_seconds=statistics.median(blank_times) / BLANKS,
        certificate_peak=_peak(certificate),
        blank_peak=_peak(blank_page),
        pdf_bytes=len(rendered.pdf),
        font_size=rendered.font_sizes[0],
        seconds=time.perf_counter() - started,
    )


def section(figures: CertificateFigures) -> list[str]:
    """The markdown of the section (one ``##`` heading, so a partial run can replace it alone)."""
    f = figures
    return [
        HEADING,
        "",
        f"Measured on {datetime.now(UTC):%Y-%m-%d} by `make bench` (or `python -m bench certificates` for this"
        f" section alone) in {f.seconds:.0f} s. A 住民票の写し, 世帯連記式, of a made-up household of {MEMBERS}"
        " with 世帯主・続柄, 本籍・筆頭者 and 住民票コード printed, rendered by `CertificatePdf.render` (A4,"
        " IPAex Gothic embedded as a subset, the seal and the issue number drawn) against a blank A4 page"
        f" from a bare reportlab `Canvas`. {ROUNDS} interleaved rounds after a warm-up (each round one"
        f" certificate and {BLANKS} blank pages); times are medians; peak memory is `tracemalloc`'s peak"
        " over one render (Python allocations). The milliseconds are this machine's; the ratios are the figures.",
        "",
        "| measure | household copy of six | blank A4 page | ratio |",
        "| --- | --- | --- | --- |",
        f"| pages per document | {f.pages} | 1 | – |",
        f"| pages per second | {f.pages_per_second:.1f} | {f.blank_pages_per_second:.0f}"
        f" | blank ÷ certificate = {f.blank_pages_per_second / f.pages_per_second:.0f} |",
        f"| time per page (ms) | {f.certificate_seconds / f.pages * 1000:.1f} | {f.blank_seconds * 1000:.2f} | – |",
        f"| peak memory (KiB) | {f.certificate_peak / 1024:.0f} | {f.blank_peak / 1024:.0f}"
        f" | certificate ÷ blank = {f.certificate_peak / max(f.blank_peak, 1):.0f} |",
        f"| PDF size (KiB) | {f.pdf_bytes / 1024:.0f} | {len(blank_page()) / 1024:.1f} | – |",
        "",
        f"Wording the document (`certificate_rules.compose`) takes {f.compose_seconds * 1000:.2f} ms of that"
        f" ({f.compose_seconds / f.certificate_seconds:.1%} of a render). Most of a render is layout (profiled):"
        f" six members with these items do not fit one page at {NORMAL_SIZE:g} pt, so the renderer lays the"
        f" document out at two to four sizes to find the largest that fits ({f.font_size:g} pt here, floor"
        f" {FLOOR_SIZE:g} pt) before platypus lays it out once more for the PDF; a blank page has none of it.",
        "",
    ]


def write() -> list[str]:
    """Measure, replace this section in docs/benchmarks.md, and return its lines."""
    from bench.run import REPORT, replace_section

    lines = section(measure())
    previous = REPORT.read_text(encoding="utf-8").splitlines() if REPORT.exists() else ["# Benchmarks", ""]
    REPORT.write_text("\n".join(replace_section(previous, lines)), encoding="utf-8")
    return lines
