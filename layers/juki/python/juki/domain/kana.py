"""Kana normalisation for matching and search: voicing marks and small kana are ignored."""

from __future__ import annotations

import re
import unicodedata

_SMALL = "ァィゥェォッャュョヮヵヶ"
_LARGE = "アイウエオツヤユヨワカケ"
_FOLD = str.maketrans(_SMALL, _LARGE)
KATAKANA_NAME = re.compile(r"^(?=.*[ァ-ヶ])[ァ-ヶー゛゜・　 ]+$")  # at least one kana letter


def to_katakana(text: str) -> str:
    """Full-width katakana: half-width forms are widened and hiragana raised."""
    wide = unicodedata.normalize("NFKC", text)
    return "".join(chr(ord(c) + 0x60) if "ぁ" <= c <= "ゖ" else c for c in wide)


def exact_key(text: str) -> str:
    """The reading as written, in full-width katakana without spaces."""
    return re.sub(r"[\s・]", "", to_katakana(text))


def match_key(text: str) -> str:
    """The form two readings share when they differ only by voicing marks, small kana or spaces."""
    katakana = to_katakana(text)
    decomposed = unicodedata.normalize("NFD", katakana)
    without_marks = "".join(c for c in decomposed if c not in "\u3099\u309a")
    folded = unicodedata.normalize("NFC", without_marks).translate(_FOLD)
    return re.sub(r"[\s・]", "", folded)


def katakana_input(value: object) -> object:
    """A reading as entered (hiragana or half-width accepted), as full-width katakana; a
    ValueError with a Japanese message when it is not a reading."""
    if not isinstance(value, str):
        return value
    kana = to_katakana(value).strip()
    if not KATAKANA_NAME.match(kana):
        raise ValueError("フリガナは全角カタカナ (またはひらがな) で入力してください")
    return kana
