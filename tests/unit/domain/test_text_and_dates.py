from datetime import date

import pytest
from juki.domain import relationships
from juki.domain.dates import to_wareki
from juki.domain.kana import match_key, to_katakana


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("ガッコウ", "カツコウ"),  # voicing mark and small kana
        ("キョウコ", "キヨウコ"),  # small kana
        ("ジロウ", "シロウ"),  # voicing mark
        ("パン", "ハン"),  # semi-voicing mark
        ("しずおか たろう", "シスオカタロウ"),  # hiragana, spaces
        ("ｼｽﾞｵｶ", "シズオカ"),  # half-width
    ],
)
def test_match_key_ignores_voicing_small_kana_and_spacing(a: str, b: str) -> None:
    assert match_key(a) == match_key(b)


def test_match_key_keeps_different_readings_apart() -> None:
    assert match_key("サトウ") != match_key("サイトウ")


def test_to_katakana() -> None:
    assert to_katakana("たろう") == "タロウ"
    assert to_katakana("ﾀﾛｳ") == "タロウ"


@pytest.mark.parametrize(
    ("day", "text"),
    [
        (date(2019, 5, 1), "令和元年5月1日"),
        (date(2019, 4, 30), "平成31年4月30日"),
        (date(1989, 1, 7), "昭和64年1月7日"),
        (date(1989, 1, 8), "平成元年1月8日"),
        (date(1926, 12, 25), "昭和元年12月25日"),
        (date(1926, 12, 24), "大正15年12月24日"),
        (date(1912, 7, 29), "明治45年7月29日"),
        (date(2026, 11, 26), "令和8年11月26日"),
    ],
)
def test_wareki(day: date, text: str) -> None:
    assert to_wareki(day) == text


def test_before_meiji_is_refused() -> None:
    with pytest.raises(ValueError, match="明治"):
        to_wareki(date(1868, 1, 1))


@pytest.mark.parametrize(
    ("given", "recorded"),
    [
        ("世帯主", "世帯主"),
        ("妻", "妻"),
        ("子の妻", "子の妻"),
        ("妻の父の母", "妻の父の母"),
        ("子の子の妻の父", "子の子の妻の父"),  # four steps: kept
        ("子の子の子の妻の父", "縁故者"),  # five steps: 縁故者
        (" 子 ", "子"),
    ],
)
def test_relationship_vocabulary(given: str, recorded: str) -> None:
    assert relationships.normalise(given) == recorded


@pytest.mark.parametrize("bad", ["友人", "子の友人", "の", "世帯主の妻", "同居人の子", ""])
def test_relationship_outside_vocabulary(bad: str) -> None:
    with pytest.raises(ValueError):
        relationships.normalise(bad)
