"""A repeatable demo municipality: 静岡市 (221007), its three wards, and households of made-up residents.

`generate()` streams households whose shape follows the city (about 690,000 residents in about 320,000
households: many people living alone and couples, families of three to five, a few larger three-generation
households). Names are kanji/katakana pairs, so each reading matches its name; family members carry the head's
family name; ages are consistent (a child is 18 to 45 years younger than each parent). The same seed always
gives the same households, and generation streams in constant memory.
"""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Literal

from faker.providers.person.ja_JP import Provider as JaPersonProvider

if TYPE_CHECKING:
    from collections.abc import Iterator, Sequence

MUNICIPALITY_CODE = "221007"
MUNICIPALITY_NAME = "静岡市"
PREFECTURE_NAME = "静岡県"
EARLIEST_BIRTH = date(1925, 1, 1)

Sex = Literal["male", "female"]


@dataclass(frozen=True)
class DemoPerson:
    family_name: str
    given_name: str
    family_name_kana: str
    given_name_kana: str
    birth_date: date
    sex: Sex
    relationship: str  # 続柄


@dataclass(frozen=True)
class DemoAddress:
    postal_code: str
    ward: str
    town: str
    town_code: str
    lot: str
    katagaki: str | None  # 方書


@dataclass(frozen=True)
class DemoHousehold:
    address: DemoAddress
    resident_since: date
    members: tuple[DemoPerson, ...]  # the head (世帯主) first


@dataclass(frozen=True)
class DemoTown:
    name: str
    number: str  # 6 digits: a 4-digit town serial and a 2-digit 丁目 (00 where the town has none)
    postal_code: str
    residence_indication: bool  # 住居表示 (N番M号) rather than 地番 (N番地)


@dataclass(frozen=True)
class DemoWard:
    name: str
    code: str
    population_weight: int
    towns: tuple[DemoTown, ...]


def _pairs(text: str) -> tuple[tuple[str, str], ...]:
    """`"清 キヨシ, 茂 シゲル"` as `(("清", "キヨシ"), ("茂", "シゲル"))`: names with their readings."""
    return tuple((name, kana) for name, kana in (item.split() for item in text.split(", ")))


def _towns(*rows: tuple[str, str, str, bool]) -> tuple[DemoTown, ...]:
    return tuple(DemoTown(*row) for row in rows)


WARDS: tuple[DemoWard, ...] = (
    DemoWard(
        "葵区",
        "221015",
        250,
        _towns(
            ("追手町", "000100", "420-0853", True),
            ("呉服町一丁目", "000201", "420-0031", True),
            ("呉服町二丁目", "000202", "420-0031", True),
            ("駿府町", "000300", "420-0854", True),
            ("水落町", "000400", "420-0842", True),
            ("安東二丁目", "000502", "420-0882", True),
            ("城東町", "000600", "420-0846", True),
            ("鷹匠一丁目", "000701", "420-0839", True),
            ("常磐町二丁目", "000802", "420-0034", True),
            ("千代田三丁目", "000903", "420-0803", True),
            ("北安東四丁目", "001004", "420-0881", True),
            ("瀬名", "001100", "420-0911", False),
            ("沓谷", "001200", "420-0816", False),
            ("羽鳥", "001300", "421-1215", False),
        ),
    ),
    DemoWard(
        "駿河区",
        "221023",
        210,
        _towns(
            ("南町", "000100", "422-8067", True),
            ("森下町", "000200", "422-8065", True),
            ("曲金三丁目", "000303", "422-8006", True),
            ("中田二丁目", "000402", "422-8041", True),
            ("石田一丁目", "000501", "422-8042", True),
            ("馬渕二丁目", "000602", "422-8063", True),
            ("八幡四丁目", "000704", "422-8076", True),
            ("池田", "000800", "422-8005", False),
            ("小鹿", "000900", "422-8021", False),
            ("中島", "001000", "422-8058", False),
            ("大谷", "001100", "422-8011", False),
            ("稲川一丁目", "001201", "422-8062", True),
        ),
    ),
    DemoWard(
        "清水区",
        "221031",
        230,
        _towns(
            ("江尻町", "000100", "424-0816", True),
            ("入船町", "000200", "424-0821", True),
            ("辻一丁目", "000301", "424-0806", True),
            ("草薙一丁目", "000401", "424-0886", True),
            ("相生町", "000500", "424-0817", True),
            ("真砂町", "000600", "424-0818", True),
            ("巴町", "000700", "424-0823", True),
            ("船越町", "000800", "424-0828", False),
            ("三保", "000900", "424-0901", False),
            ("折戸", "001000", "424-0902", False),
            ("駒越", "001100", "424-0922", False),
            ("有東坂", "001200", "424-0866", False),
            ("興津本町", "001300", "424-0204", False),
        ),
    ),
)
WARD_CODES: dict[str, str] = {ward.name: ward.code for ward in WARDS}

# Surnames common in Shizuoka that the national list lacks, with weights on the same scale.
_LOCAL_FAMILY_NAMES = (
    (("望月", "モチヅキ"), 160000),
    (("杉山", "スギヤマ"), 150000),
    (("佐野", "サノ"), 90000),
    (("増田", "マスダ"), 80000),
    (("松永", "マツナガ"), 50000),
    (("海野", "ウンノ"), 50000),
    (("大石", "オオイシ"), 60000),
    (("村松", "ムラマツ"), 50000),
    (("深沢", "フカサワ"), 40000),
    (("芹沢", "セリザワ"), 30000),
    (("植松", "ウエマツ"), 30000),
    (("秋山", "アキヤマ"), 40000),
)
_LOCAL_BOOST = {"鈴木": 2.5, "渡辺": 1.5}
_CLASSIC_GIVEN = {
    "male": _pairs(
        "清 キヨシ, 茂 シゲル, 勇 イサム, 正 タダシ, 昭 アキラ, 進 ススム, 三郎 サブロウ, 勝 マサル"
    ),
    "female": _pairs(
        "和子 カズコ, 幸子 サチコ, 節子 セツコ, 恵子 ケイコ, 京子 キョウコ, 久子 ヒサコ, 静子 シズコ"
    ),
}
_MODERN_GIVEN = {
    "male": _pairs(
        "蓮 レン, 陽翔 ハルト, 湊 ミナト, 大翔 ヒロト, 悠真 ユウマ, 颯太 ソウタ, 樹 イツキ, 陸 リク"
    ),
    "female": _pairs(
        "陽葵 ヒマリ, 結菜 ユイナ, 芽依 メイ, 紬 ツムギ, 凛 リン, 葵 アオイ, 咲良 サクラ, 心春 コハル"
    ),
}
_CLASSIC_UNTIL = 1955
_MODERN_FROM = 1990

_BUILDING_PREFIXES = (
    "静岡",
    "駿府",
    "葵",
    "駿河",
    "清水",
    "富士見",
    "日本平",
    "三保",
    "浅間",
    "城北",
    "安倍川",
    "巴川",
    "サンライズ",
    "ロイヤル",
    "グラン",
    "パーク",
)
_BUILDING_SUFFIXES = (
    "グランドマンション",
    "マンション",
    "ハイツ",
    "コーポ",
    "レジデンス",
    "コート",
    "ハイム",
    "パレス",
    "ヒルズ",
)
_KATAGAKI_SHARE = 0.25


@dataclass(frozen=True)
class _Shape:
    """The make-up of one kind of household besides its head."""

    head_age: tuple[int, int]
    spouse: bool = False
    children: int = 0
    head_parents: int = 0  # 父 and/or 母 of the head
    grandchildren: int = 0  # with 子の妻 (wife of the first, male, child)
    lodger: bool = False  # 同居人


# (weight, shape): household sizes near Shizuoka's (1: 38 %, 2: 29 %, 3: 16 %, 4: 12 %, 5: 4 %, 6+: 1 %).
_SHAPES: tuple[tuple[float, _Shape], ...] = (
    (17.0, _Shape((18, 39))),
    (9.5, _Shape((40, 64))),
    (11.5, _Shape((65, 99))),
    (19.0, _Shape((22, 92), spouse=True)),
    (4.5, _Shape((25, 62), children=1)),
    (2.8, _Shape((25, 66), head_parents=1)),
    (2.7, _Shape((20, 75), lodger=True)),
    (12.0, _Shape((24, 70), spouse=True, children=1)),
    (2.0, _Shape((27, 60), children=2)),
    (2.0, _Shape((28, 66), spouse=True, head_parents=1)),
    (9.8, _Shape((28, 62), spouse=True, children=2)),
    (2.2, _Shape((28, 62), spouse=True, children=1, head_parents=1)),
    (1.9, _Shape((30, 60), spouse=True, children=3)),
    (1.2, _Shape((30, 62), spouse=True, children=2, head_parents=1)),
    (0.7, _Shape((60, 88), spouse=True, children=1, grandchildren=1)),
    (0.3, _Shape((32, 58), spouse=True, children=4)),
    (0.3, _Shape((32, 60), spouse=True, children=2, head_parents=2)),
    (0.2, _Shape((32, 60), spouse=True, children=3, head_parents=2)),
    (0.3, _Shape((62, 90), spouse=True, children=1, grandchildren=2)),
    (0.2, _Shape((64, 90), spouse=True, children=1, grandchildren=3)),
)


def generate(residents: int = 1000, seed: int = 221007, today: date | None = None) -> Iterator[DemoHousehold]:
    """Stream households totalling exactly `residents` persons (the last household cut to fit)."""
    if residents < 0:
        raise ValueError("residents must not be negative")
    rng = random.Random(seed)  # noqa: S311 -- demo data must be repeatable, not secret
    return _Generator(rng, today or date.today()).households(residents)


class _Generator:
    """All the random choices of one `generate()` call, drawn from one seeded `random.Random`."""

    def __init__(self, rng: random.Random, today: date) -> None:
        self._rng = rng
        self._today = today.toordinal()
        self._adult_latest = self._today - _at_least(18)
        self._parent_latest = self._today - _at_least(19)
        self._father_of_grandchildren_latest = self._today - _at_least(22)
        family = [
            ((kanji, kana), weight * _LOCAL_BOOST.get(kanji, 1.0))
            for (kanji, kana, _romaji), weight in JaPersonProvider.last_name_pairs.items()
        ]
        family.extend(_LOCAL_FAMILY_NAMES)
        self._family_names = tuple(pair for pair, _ in family)
        self._family_cum = tuple(itertools.accumulate(weight for _, weight in family))
        base: dict[Sex, tuple[tuple[str, str], ...]] = {
            "male": tuple((kanji, kana) for kanji, kana, _ in JaPersonProvider.first_name_male_pairs),
            "female": tuple((kanji, kana) for kanji, kana, _ in JaPersonProvider.first_name_female_pairs),
        }
        self._given = {
            (sex, era): base[sex] + extra
            for sex in base
            for era, extra in (("classic", _CLASSIC_GIVEN[sex]), ("modern", _MODERN_GIVEN[sex]), ("", ()))
        }
        self._shapes = tuple(shape for _, shape in _SHAPES)
        self._shape_cum = tuple(itertools.accumulate(weight for weight, _ in _SHAPES))
        self._wards = WARDS
        self._ward_cum = tuple(itertools.accumulate(ward.population_weight for ward in WARDS))

    def households(self, residents: int) -> Iterator[DemoHousehold]:
        remaining = residents
        while remaining > 0:
            household = self._household()
            if len(household.members) > remaining:
                household = DemoHousehold(
                    household.address, household.resident_since, household.members[:remaining]
                )
            remaining -= len(household.members)
            yield household

    def _household(self) -> DemoHousehold:
        rng = self._rng
        shape = rng.choices(self._shapes, cum_weights=self._shape_cum)[0]
        head_sex: Sex
        if shape.spouse:
            head_sex = "male" if rng.random() < 0.85 else "female"
        elif shape.children:
            head_sex = "female" if rng.random() < 0.8 else "male"
        else:
            head_sex = self._sex()
        low_age, high_age = shape.head_age
        head_birth = self._birth_between(
            self._today - _under(high_age + 1) + 1, self._today - _at_least(low_age)
        )
        family_name = rng.choices(self._family_names, cum_weights=self._family_cum)[0]
        head = self._person(family_name, head_birth, head_sex, "世帯主")
        members = [head]
        parents = [head]
        if shape.spouse:
            spouse = self._spouse(head, family_name, latest=self._parent_latest if shape.children else None)
            members.append(spouse)
            parents.append(spouse)
        children = self._children(parents, family_name, shape.children, first_male=shape.grandchildren > 0)
        members.extend(children)
        if shape.grandchildren:
            eldest = children[0]
            wife = self._spouse(eldest, family_name, latest=self._parent_latest, relationship="子の妻")
            members.append(wife)
            members.extend(
                self._children([eldest, wife], family_name, shape.grandchildren, relationship="孫")
            )
        members.extend(self._head_parents(head, family_name, shape.head_parents))
        if shape.lodger:
            lodger_name = rng.choices(self._family_names, cum_weights=self._family_cum)[0]
            birth = self._birth_between(self._today - _under(76) + 1, self._today - _at_least(20))
            members.append(self._person(lodger_name, birth, self._sex(), "同居人"))
        resident_since = date.fromordinal(rng.randint(head_birth.toordinal() + _at_least(18), self._today))
        return DemoHousehold(self._address(), resident_since, tuple(members))

    def _spouse(
        self,
        partner: DemoPerson,
        family_name: tuple[str, str],
        *,
        latest: int | None = None,
        relationship: str = "",
    ) -> DemoPerson:
        """A wife usually a few years younger than her husband, a husband a few years older.

        `latest` (an ordinal) bounds the birth date: a parent of children in the household is at least 19.
        """
        sex: Sex = "female" if partner.sex == "male" else "male"
        gap = self._rng.randint(-3 * 365, 8 * 365)
        birth = partner.birth_date.toordinal() + (gap if sex == "female" else -gap)
        birth = min(max(birth, EARLIEST_BIRTH.toordinal()), latest or self._adult_latest)
        label = relationship or ("妻" if sex == "female" else "夫")
        return self._person(family_name, date.fromordinal(birth), sex, label)

    def _children(
        self,
        parents: Sequence[DemoPerson],
        family_name: tuple[str, str],
        count: int,
        *,
        first_male: bool = False,
        relationship: str = "子",
    ) -> list[DemoPerson]:
        """Children born when every parent was 18 to 45; the eldest first (an adult son if `first_male`)."""
        if not count:
            return []
        earliest = max(parent.birth_date.toordinal() for parent in parents) + _at_least(18)
        latest = min(min(parent.birth_date.toordinal() for parent in parents) + _under(46) - 1, self._today)
        typical_latest = min(latest, earliest + 20 * 365)
        if first_male:
            typical_latest = min(typical_latest, self._father_of_grandchildren_latest)
        births = sorted(self._rng.randint(earliest, typical_latest) for _ in range(count))
        return [
            self._person(
                family_name,
                date.fromordinal(birth),
                "male" if first_male and index == 0 else self._sex(),
                relationship,
            )
            for index, birth in enumerate(births)
        ]

    def _head_parents(self, head: DemoPerson, family_name: tuple[str, str], count: int) -> list[DemoPerson]:
        """父 and/or 母 of the head, 20 to 45 years older and born no earlier than 1925."""
        head_birth = head.birth_date.toordinal()
        earliest = max(EARLIEST_BIRTH.toordinal(), head_birth - _under(46) + 1)
        latest = head_birth - _at_least(20)
        kinds: list[tuple[Sex, str]] = [("male", "父"), ("female", "母")]
        if count == 1:
            kinds = [kinds[0 if self._rng.random() < 0.25 else 1]]
        return [
            self._person(family_name, self._birth_between(earliest, latest), sex, relationship)
            for sex, relationship in kinds[:count]
        ]

    def _person(self, family_name: tuple[str, str], birth: date, sex: Sex, relationship: str) -> DemoPerson:
        era = "classic" if birth.year < _CLASSIC_UNTIL else "modern" if birth.year >= _MODERN_FROM else ""
        given_name, given_kana = self._rng.choice(self._given[sex, era])
        return DemoPerson(family_name[0], given_name, family_name[1], given_kana, birth, sex, relationship)

    def _address(self) -> DemoAddress:
        rng = self._rng
        ward = rng.choices(self._wards, cum_weights=self._ward_cum)[0]
        town = rng.choice(ward.towns)
        if town.residence_indication:
            lot = f"{rng.randint(1, 30)}番{rng.randint(1, 25)}号"
        else:
            lot = f"{rng.randint(1, 3000)}番地"
            if rng.random() < 0.4:
                lot += f"の{rng.randint(1, 20)}"
        katagaki = None
        if rng.random() < _KATAGAKI_SHARE:
            building = rng.choice(_BUILDING_PREFIXES) + rng.choice(_BUILDING_SUFFIXES)
            katagaki = f"{building}{rng.randint(1, 12)}{rng.randint(1, 10):02d}号室"
        return DemoAddress(town.postal_code, ward.name, town.name, ward.code + town.number, lot, katagaki)

    def _birth_between(self, earliest: int, latest: int) -> date:
        earliest = max(earliest, EARLIEST_BIRTH.toordinal())
        return date.fromordinal(self._rng.randint(earliest, max(earliest, latest)))

    def _sex(self) -> Sex:
        return "male" if self._rng.random() < 0.5 else "female"


def _at_least(years: int) -> int:
    """Days after which anyone is at least `years` old, however the leap days fall."""
    return 365 * years + -(-years // 4)


def _under(years: int) -> int:
    """Days within which anyone is still under `years` old, however the leap days fall."""
    return 365 * years + years // 4


def age_on(birth: date, on: date) -> int:
    """Age in whole years on a day (the birthday counted from the day itself)."""
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))
