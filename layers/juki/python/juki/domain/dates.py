"""和暦 (Japanese era dates): the ledger stores 西暦 and shows 和暦."""

from __future__ import annotations

from datetime import date

# (first day, era name), newest first.
ERAS: tuple[tuple[date, str], ...] = (
    (date(2019, 5, 1), "令和"),
    (date(1989, 1, 8), "平成"),
    (date(1926, 12, 25), "昭和"),
    (date(1912, 7, 30), "大正"),
    (date(1868, 10, 23), "明治"),
)


def to_wareki(day: date) -> str:
    """e.g. 2019-05-01 → 令和元年5月1日."""
    for start, era in ERAS:
        if day >= start:
            year = day.year - start.year + 1
            year_text = "元" if year == 1 else str(year)
            return f"{era}{year_text}年{day.month}月{day.day}日"
    raise ValueError(f"before 明治: {day.isoformat()}")
