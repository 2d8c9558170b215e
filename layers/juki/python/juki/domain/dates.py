"""和暦 (Japanese era dates) and 不詳日 (partial dates).

The ledger stores 西暦 and shows 和暦; foreign residents' birth date and residence expiry date are
shown in 西暦 (標準仕様書 「年月日の管理・表示」). Dates are read in either calendar:

- 西暦: ``2019-05-01``, ``2019/5/1``, ``20190501``, ``2019年5月1日``
- 和暦: ``令和元年5月1日``, ``令和1年5月1日``, ``R1.5.1``, ``R01.05.01``, ``H31.4.30``, ``S55.4.1``,
  ``T15.12.24``, ``M45.7.29`` (initials M 明治, T 大正, S 昭和, H 平成, R 令和; ``.``, ``/`` or ``-``
  between the parts)

Full-width digits, letters and punctuation are read as their ASCII forms. The first day is
明治元年10月23日 (1868-10-23), the day of the 改元; the lunar calendar used until 明治5年 is not
converted.

A 不詳日 (:class:`PartialDate`) is a date of which the year, month or day is unknown, possibly
approximate (「頃」), as old paper ledgers recorded them: 「昭和○○年頃」, 「昭和55年」,
「昭和55年4月」, 「平成元年頃」.
"""

from __future__ import annotations

import calendar
import re
import unicodedata
from datetime import date, timedelta
from typing import Literal, Self, cast

from pydantic import BaseModel, ConfigDict, Field, model_validator

EraName = Literal["明治", "大正", "昭和", "平成", "令和"]

# (first day, era name), newest first.
ERAS: tuple[tuple[date, str], ...] = (
    (date(2019, 5, 1), "令和"),
    (date(1989, 1, 8), "平成"),
    (date(1926, 12, 25), "昭和"),
    (date(1912, 7, 30), "大正"),
    (date(1868, 10, 23), "明治"),
)
ERA_INITIALS: dict[str, EraName] = {"M": "明治", "T": "大正", "S": "昭和", "H": "平成", "R": "令和"}
FIRST_DAY = ERAS[-1][0]
UNKNOWN_YEAR = "○○"  # how an unknown era year is written: 「昭和○○年頃」

# The first and last day of each era; the current era has no last day (date.max).
_ERA_RANGES: dict[str, tuple[date, date]] = {
    era: (start, ERAS[index - 1][0] - timedelta(days=1) if index else date.max)
    for index, (start, era) in enumerate(ERAS)
}

_ERA_PATTERN = "|".join(name for _, name in ERAS)
_WESTERN = (
    re.compile(r"(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})"),
    re.compile(r"(?P<y>\d{4})/(?P<m>\d{1,2})/(?P<d>\d{1,2})"),
    re.compile(r"(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})"),
    re.compile(r"(?P<y>\d{4})年(?P<m>\d{1,2})月(?P<d>\d{1,2})日"),
)
_WAREKI = re.compile(rf"(?P<era>{_ERA_PATTERN})(?P<y>元|\d{{1,2}})年(?P<m>\d{{1,2}})月(?P<d>\d{{1,2}})日")
_INITIAL = re.compile(r"(?P<era>[MTSHR])(?P<y>\d{1,2})([./-])(?P<m>\d{1,2})\3(?P<d>\d{1,2})")
# 不詳日: era or western year, then optional month and day, then optional 頃.
_PARTIAL_WAREKI = re.compile(
    rf"(?P<era>{_ERA_PATTERN})(?P<y>元|\d{{1,2}}|[○〇◯]{{1,2}})年"
    r"(?:(?P<m>\d{1,2})月(?:(?P<d>\d{1,2})日)?)?(?P<approx>頃)?"
)
_PARTIAL_WESTERN = re.compile(r"(?P<y>\d{4})年(?:(?P<m>\d{1,2})月(?:(?P<d>\d{1,2})日)?)?(?P<approx>頃)?")


def _normalise(text: str) -> str:
    """Full-width digits, letters and punctuation to ASCII, letters upper case, spaces removed."""
    return re.sub(r"\s", "", unicodedata.normalize("NFKC", text)).upper()


def era_range(era: str) -> tuple[date, date]:
    """The first and last day of an era (the current era ends at ``date.max``)."""
    try:
        return _ERA_RANGES[era]
    except KeyError:
        raise ValueError(f"元号が正しくありません: {era}") from None


def era_of(day: date) -> tuple[EraName, int]:
    """The era and era year of a day, e.g. 2019-05-01 → (令和, 1)."""
    for start, era in ERAS:
        if day >= start:
            return cast(EraName, era), day.year - start.year + 1
    raise ValueError(f"明治元年 (1868年10月23日) より前の日付は和暦で表せません: {day.isoformat()}")


def western_year(era: str, era_year: int) -> int:
    """The western year of an era year, refusing one the era never reached (平成32年 → error)."""
    start, end = era_range(era)
    year = start.year + era_year - 1
    if era_year < 1 or year > end.year:
        raise ValueError(f"{era}{era_year}年は存在しません ({_era_span(era)})")
    return year


def _era_span(era: str) -> str:
    start, end = era_range(era)
    last = "" if end == date.max else to_seireki(end)
    return f"{era}は{to_seireki(start)}から{last}まで" if last else f"{era}は{to_seireki(start)}から"


def _era_year_text(year: int) -> str:
    return "元" if year == 1 else str(year)


def to_wareki(day: date) -> str:
    """e.g. 2019-05-01 → 令和元年5月1日."""
    era, year = era_of(day)
    return f"{era}{_era_year_text(year)}年{day.month}月{day.day}日"


def to_seireki(day: date) -> str:
    """e.g. 1980-04-01 → 1980年4月1日 (foreign residents' birth and expiry dates are shown so)."""
    return f"{day.year}年{day.month}月{day.day}日"


def _make_date(year: int, month: int, day: int, text: str) -> date:
    try:
        result = date(year, month, day)
    except ValueError:
        raise ValueError(f"存在しない日付です: {text}") from None
    if result < FIRST_DAY:
        raise ValueError(f"明治元年 (1868年10月23日) より前の日付は指定できません: {text}")
    return result


def _era_name(token: str) -> EraName:
    return ERA_INITIALS[token] if token in ERA_INITIALS else cast(EraName, token)


def _era_year(token: str) -> int:
    return 1 if token == "元" else int(token)


def parse_date(text: str) -> date:
    """A full date written in 西暦 or 和暦 (the forms are listed in the module docstring).

    Raises ValueError, with a Japanese message, for an unreadable text, an impossible date
    (2月30日), an era year the era never reached (平成32年) or a day outside its era
    (昭和64年1月8日: 平成 began that day).
    """
    normalised = _normalise(text)
    for pattern in _WESTERN:
        if match := pattern.fullmatch(normalised):
            return _make_date(int(match["y"]), int(match["m"]), int(match["d"]), text)
    match = _WAREKI.fullmatch(normalised) or _INITIAL.fullmatch(normalised)
    if match is None:
        raise ValueError(f"日付の形式が正しくありません: {text}")
    era = _era_name(match["era"])
    year = western_year(era, _era_year(match["y"]))
    result = _make_date(year, int(match["m"]), int(match["d"]), text)
    start, end = era_range(era)
    if not start <= result <= end:
        raise ValueError(f"{text}は{era}の期間外です ({_era_span(era)})")
    return result


class PartialDate(BaseModel):
    """不詳日: a date whose year, month or day may be unknown, possibly approximate (頃).

    Displayed (``to_wareki``) and read (``parse``) as:

    - 「昭和○○年頃」: the era known, the year not, approximate (``era="昭和"``, ``approximate``)
    - 「昭和55年」, 「昭和55年4月」: the year, or the year and month
    - 「平成元年頃」: an approximate year
    - 「昭和55年4月1日」, 「昭和55年4月1日頃」: a full date, exact or approximate
    - any form :func:`parse_date` reads, and the 西暦 forms 「1980年」, 「1980年4月頃」

    The unknown year may be written ○○, 〇〇 or ◯◯. ``year`` is the western year; the era is
    derived from it when not given, and must be given when the year alone does not tell it
    (1989年 is 昭和64年 and 平成元年). ``earliest`` and ``latest`` bound the days it can mean;
    「頃」 does not widen them.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    era: EraName | None = Field(default=None, description="元号 (年が不詳の場合は必須)", examples=["昭和"])
    year: int | None = Field(
        default=None, ge=1868, le=9999, description="年 (西暦)。不詳は null", examples=[1980]
    )
    month: int | None = Field(default=None, ge=1, le=12, description="月。不詳は null", examples=[4])
    day: int | None = Field(default=None, ge=1, le=31, description="日。不詳は null")
    approximate: bool = Field(default=False, description="「頃」(おおよその日付)")

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, data: object) -> object:
        return cls._fields(data) if isinstance(data, str) else data

    @model_validator(mode="after")
    def _consistent(self) -> Self:
        if self.day is not None and self.month is None:
            raise ValueError("日を指定する場合は月も指定してください")
        if self.year is None and self.era is None:
            raise ValueError("年または元号を指定してください")
        if self.era is not None and self.year is not None:
            start, end = era_range(self.era)
            if not start.year <= self.year <= end.year:
                raise ValueError(f"{self.year}年は{self.era}の期間外です ({_era_span(self.era)})")
        earliest, latest = self._bounds()
        if self.era is None and era_of(earliest)[0] != era_of(latest)[0]:
            raise ValueError(f"{self.year}年は元号が2つにまたがります。元号を指定してください")
        return self

    @classmethod
    def of(cls, day: date) -> PartialDate:
        """The complete partial date of a day."""
        return cls(era=era_of(day)[0], year=day.year, month=day.month, day=day.day)

    @classmethod
    def parse(cls, text: str) -> PartialDate:
        """Read a 不詳日 or a full date; ValueError (Japanese message) when it is neither."""
        return cls.model_validate(text)

    @classmethod
    def _fields(cls, text: str) -> dict[str, object]:
        normalised = _normalise(text)
        if match := _PARTIAL_WAREKI.fullmatch(normalised):
            era = _era_name(match["era"])
            token = match["y"]
            year = None if token[0] in "○〇◯" else western_year(era, _era_year(token))
            return cls._with_parts(match, era=era, year=year)
        if match := _PARTIAL_WESTERN.fullmatch(normalised):
            return cls._with_parts(match, era=None, year=int(match["y"]))
        day = parse_date(text)
        return {"era": era_of(day)[0], "year": day.year, "month": day.month, "day": day.day}

    @staticmethod
    def _with_parts(match: re.Match[str], *, era: EraName | None, year: int | None) -> dict[str, object]:
        return {
            "era": era,
            "year": year,
            "month": int(match["m"]) if match["m"] else None,
            "day": int(match["d"]) if match["d"] else None,
            "approximate": match["approx"] is not None,
        }

    def _candidates(self, year: int) -> tuple[date, date] | None:
        """The days this can mean within one western year, before the era's bounds are applied."""
        if self.month is None:
            return date(year, 1, 1), date(year, 12, 31)
        last = calendar.monthrange(year, self.month)[1]
        if self.day is None:
            return date(year, self.month, 1), date(year, self.month, last)
        if self.day > last:
            return None
        day = date(year, self.month, self.day)
        return day, day

    def _fit(self, year: int, start: date, end: date) -> tuple[date, date] | None:
        candidate = self._candidates(year)
        if candidate is None:
            return None
        low, high = max(candidate[0], start), min(candidate[1], end)
        return (low, high) if low <= high else None

    def _bounds(self) -> tuple[date, date]:
        start, end = era_range(self.era) if self.era is not None else (FIRST_DAY, date.max)
        years = range(self.year, self.year + 1) if self.year is not None else range(start.year, end.year + 1)
        first = next((fit for year in years if (fit := self._fit(year, start, end))), None)
        last = next((fit for year in reversed(years) if (fit := self._fit(year, start, end))), None)
        if first is None or last is None:
            raise ValueError(f"{self._display(self.era or '')}に当たる日がありません")
        return first[0], last[1]

    def earliest(self) -> date:
        """The first day this can mean (for ages and searches)."""
        return self._bounds()[0]

    def latest(self) -> date:
        """The last day this can mean; ``date.max`` when the year in the current era is unknown."""
        return self._bounds()[1]

    @property
    def is_complete(self) -> bool:
        """Year, month and day known, and not approximate."""
        return None not in (self.year, self.month, self.day) and not self.approximate

    def to_date(self) -> date | None:
        """The day, when complete."""
        return self.earliest() if self.is_complete else None

    def _display(self, era: str) -> str:
        """The display form with the given era ("" for 西暦)."""
        if self.year is None:
            year_text = UNKNOWN_YEAR
        elif era:
            year_text = _era_year_text(self.year - era_range(era)[0].year + 1)
        else:
            year_text = str(self.year)
        month = f"{self.month}月" if self.month is not None else ""
        day = f"{self.day}日" if self.day is not None else ""
        return f"{era}{year_text}年{month}{day}{'頃' if self.approximate else ''}"

    def to_wareki(self) -> str:
        """e.g. 「昭和○○年頃」, 「昭和55年4月」, 「平成元年頃」, 「令和元年5月1日」."""
        return self._display(self.era or era_of(self.earliest())[0])

    def to_seireki(self) -> str:
        """e.g. 「1980年頃」, 「1980年4月1日」; with the year unknown, the 和暦 form (「昭和○○年」)."""
        return self._display("") if self.year is not None else self.to_wareki()
