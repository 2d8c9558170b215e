"""続柄 (relationship to the head of household).

A relationship is one of the base terms, or a chain of base terms joined by 「の」
(子の妻, 妻の父, …). Chains of up to four steps are kept as written; a longer chain is
recorded as 縁故者, as the standard prescribes.
"""

from __future__ import annotations

HEAD = "世帯主"
DISTANT = "縁故者"
MAX_CHAIN_STEPS = 4

BASE_TERMS = frozenset(
    {
        "妻", "夫", "子", "父", "母", "養父", "養母", "兄", "姉", "弟", "妹", "孫", "祖父", "祖母",
        "伯父", "叔父", "伯母", "叔母", "甥", "姪", "養子", "夫の子", "妻の子",
        "妻(未届)", "夫(未届)", "同居人", DISTANT,
    }
)  # fmt: skip


def normalise(relationship: str) -> str:
    """The relationship as recorded, or ValueError when it is not in the vocabulary."""
    text = relationship.strip()
    if text == HEAD or text in BASE_TERMS:
        return text
    steps = text.split("の")
    if len(steps) < 2 or not all(step in BASE_TERMS - {"同居人", DISTANT} for step in steps):
        raise ValueError(text)
    return text if len(steps) <= MAX_CHAIN_STEPS else DISTANT
