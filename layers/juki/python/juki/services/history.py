"""A person's whole history, from the ledger and the archive of removed records together."""

from __future__ import annotations

from typing import Protocol

from juki.domain.records import PersonRecord
from juki.services.ports import RecordArchiveReader


class PersonHistorySource(Protocol):
    def person_history(self, person_id: str) -> list[PersonRecord]: ...


def full_history(
    store: PersonHistorySource, archive: RecordArchiveReader | None, person_id: str
) -> list[PersonRecord]:
    """Every version in order. The archive is read only when the ledger lacks the first version:
    a removed record moved out after five years, or one caught half-way through the move."""
    in_ledger = store.person_history(person_id)
    if (in_ledger and in_ledger[0].version == 1) or archive is None:
        return in_ledger
    versions = {v.version: v for v in archive.person_history(person_id)}
    versions.update((v.version, v) for v in in_ledger)
    return [versions[n] for n in sorted(versions)]
