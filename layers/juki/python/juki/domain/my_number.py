"""個人番号 as the ledger keeps it: sealed (encrypted per field) with a blind index for exact lookup.

The plaintext 個人番号 exists only in memory, between the request that carries it and the
``MyNumberVault`` that seals it (or the one that opens it for a permitted use). What is stored
is a ``SealedMyNumber``: the ciphertext, bound to the person it belongs to, and a keyed hash of
the number (the blind index) that finds the person by number without decrypting anything.

How the vault does it (the Encryption SDK under the customer-managed key "pii", the index key,
what an auditor can check): docs/decisions/0008-my-number-encryption.md. This module names the
contract only; it imports nothing of AWS.
"""

from __future__ import annotations

from typing import Annotated, Any, Protocol

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, PlainSerializer, SerializationInfo

from juki.domain.codes import parse_my_number
from juki.domain.errors import DomainError

BLIND_INDEX_HEX_LENGTH = 64  # HMAC-SHA256, kept whole: an exact match, no false positives


class SealedMyNumber(BaseModel):
    """A 個人番号 as stored: never the number itself."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    ciphertext: str = Field(
        min_length=1,
        description="暗号化した個人番号（AWS Encryption SDK のメッセージを Base64 で表したもの。"
        "暗号化コンテキストで本人の個人IDと団体コードに結び付けてある）",
    )
    blind_index: str = Field(
        pattern=rf"^[0-9a-f]{{{BLIND_INDEX_HEX_LENGTH}}}$",
        description="個人番号による完全一致検索用のブラインドインデックス"
        "（正規化した12桁の HMAC-SHA256 を16進で表したもの。個人番号には戻せない）",
    )


STORAGE: dict[str, Any] = {"storage": True}  # the context in which records are written and read back


def _stored_or_masked(sealed: SealedMyNumber, info: SerializationInfo) -> dict[str, Any]:
    """Stored whole; everywhere else (API answers, logs) only the fact that a number is recorded."""
    if info.context and info.context.get("storage"):
        return sealed.model_dump()
    return {"recorded": True}


# A 個人番号 as records and notices hold it: sealed; shown as {"recorded": true} outside storage.
Sealed = Annotated[SealedMyNumber, PlainSerializer(_stored_or_masked, when_used="always")]


def _valid_my_number(value: str) -> str:
    try:
        return parse_my_number(value)
    except DomainError as error:
        raise ValueError(error.message) from None  # the message never repeats the number


# A 個人番号 as a clerk enters it: twelve digits with the right check digit. It lives only until
# the service seals it; a stored notice never holds it.
MyNumberInput = Annotated[str, AfterValidator(_valid_my_number)]


class MyNumberVaultError(RuntimeError):
    """The vault could not seal or open a 個人番号 (KMS unavailable or refusing, a damaged
    ciphertext). The message never carries the number: a fault of the system, never of the client."""


class MyNumberBindingError(MyNumberVaultError):
    """The ciphertext was not sealed for this person (or this municipality, or this purpose):
    a ciphertext copied onto another record, or a caller asking with the wrong person id."""


class MyNumberVault(Protocol):
    """Seals and opens 個人番号 and computes their blind index."""

    def seal(self, my_number: str, person_id: str) -> SealedMyNumber:
        """Encrypts the number for this person. Refuses (``DomainError`` MY_NUMBER_INVALID) a number
        that is not twelve digits with the right check digit, before any encryption."""
        ...

    def open(self, sealed: SealedMyNumber, person_id: str) -> str:
        """The twelve digits, if and only if ``sealed`` was sealed for this person; otherwise
        ``MyNumberBindingError``."""
        ...

    def blind_index(self, my_number: str) -> str:
        """The blind index of a number as typed (normalised and checked first): equal numbers give
        equal indexes, so a lookup is one query on the index, never a scan of plaintext."""
        ...
