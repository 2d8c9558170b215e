"""A recipient system's full extract (共通基盤 "full extracts on request", docs/linkage.md).

A person with ``linkage.manage`` asks for an extract of an approved recipient system; the request
starts ``statemachines/platform_extract.asl.json`` (execution name = the extract id), whose three
steps are here:

1. ``list_step``: one bounded slice of a Scan of the ledger's current person records; the ids of
   current residents go to ``outbound/platform/<system>/extracts/<extract>/ids/part-NNNNN.json``
   (≤ 500 each), with the registration version the extract was made for and the extract's time.
   The machine calls it again while ``more``; a retried call writes the same keys again. The last
   call writes ``ids/parts.json``, the list of exactly the parts 1..n that the Map reads: a call
   that timed out and was retried may write fewer parts than the first attempt did (residents
   gone meanwhile), and a leftover higher-numbered part must not be extracted.
2. ``part_step`` (one Distributed Map item per ids part): the registration is read again (an
   extract only ever carries what the system is approved for *now*, and all parts for the same
   approval), each person's record is reduced exactly as a delivery is (``delivery_data``), the
   part is written next to the ids, and a provision record per person is written in batches. The
   operation-log entry naming the part's persons goes first, once (a marker in its transaction).
3. ``finish``: every part file 1..n must be in the bucket: the run fails otherwise, rather than
   hand over an incomplete extract; then ``manifest.json``, which tells the recipient the extract
   is complete. The Map keeps no per-part results in the state: a city's 1,900 parts would pass
   Step Functions' 256 KB limit.

A retried part writes the same keys: the provision records' time is the extract's, and their
message id ``<extract>:<part>``, so a retry overwrites rather than adds.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pydantic import BaseModel, Field

from juki.domain.errors import Conflict, NotFound
from juki.domain.linkage import OutboundMessage, ProvisionRecord, Recipient, delivery_data
from juki.domain.oplog import OperationLogEntry, entry_for
from juki.domain.recipients import RecipientRegistration, unknown_recipient
from juki.domain.records import HouseholdRecord, PersonRecord
from juki.domain.staff import Actor, Permission, SystemActor
from juki.domain.values import ResidentStatus
from juki.services.access import require
from juki.services.consistency import CurrentPersons, ObjectStore
from juki.services.ports import Clock, IdSource, OperationLog

JOB = "platform-extract"
FUNCTION_REQUEST = "linkage.manage"
FUNCTION_EXTRACT = "linkage.extract"
KIND = "resident.extract"
PART_SIZE = 500  # persons per part: one Map item, one part file
PARTS_PER_CALL = 40  # ids parts one list call writes at most (20,000 persons)
SCAN_PAGE_ITEMS = 1000  # ledger items read per Scan page (before the filter)
PREFIX = "outbound/platform/"
_ENTRY_IDS = uuid.UUID("6b0f7a3e-1c52-4d8e-a0b4-5d2f9e71c3a8")  # namespace of part-derived entry ids
_SYSTEM = r"[a-z][a-z0-9-]{1,39}"
EXTRACT_ID = r"[0-9]{8}T[0-9]{6}-[0-9a-f]{12}"
_IDS_KEY = re.compile(rf"^{PREFIX}({_SYSTEM})/extracts/({EXTRACT_ID})/ids/part-(\d{{5}})\.json$")


class ExtractFailed(Exception):
    """The extract cannot be made complete and correct; the execution fails with the code."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


# -- keys --------------------------------------------------------------------------------------------


def extract_prefix(system_id: str, extract_id: str) -> str:
    return f"{PREFIX}{system_id}/extracts/{extract_id}/"


def ids_key(system_id: str, extract_id: str, number: int) -> str:
    return f"{extract_prefix(system_id, extract_id)}ids/part-{number:05d}.json"


def parts_list_key(system_id: str, extract_id: str) -> str:
    """The Map's items: ``[{"key": <ids part key>}, ...]`` for parts 1..n, written last."""
    return f"{extract_prefix(system_id, extract_id)}ids/parts.json"


def part_key(system_id: str, extract_id: str, number: int) -> str:
    return f"{extract_prefix(system_id, extract_id)}part-{number:05d}.json"


def manifest_key(system_id: str, extract_id: str) -> str:
    return f"{extract_prefix(system_id, extract_id)}manifest.json"


def message_id(extract_id: str, number: int) -> str:
    return f"{extract_id}:{number:05d}"


def valid_extract_id(extract_id: str) -> bool:
    """An extract id is an execution name and part of S3 keys: nothing else is accepted."""
    return re.fullmatch(EXTRACT_ID, extract_id) is not None


def _parse_ids_key(key: str) -> tuple[str, str, int]:
    found = _IDS_KEY.match(key)
    if found is None:
        raise ExtractFailed("EXTRACT_PART_KEY_INVALID")
    return found.group(1), found.group(2), int(found.group(3))


# -- ports -----------------------------------------------------------------------------------------


class Registry(Protocol):
    def registration(self, system_id: str) -> RecipientRegistration | None: ...


class Exchange(ObjectStore, Protocol):
    def keys(self, prefix: str) -> set[str]:
        """The keys of the objects under ``prefix`` (a listing: no object is read)."""
        ...


class Records(Protocol):
    def persons_by_id(self, person_ids: Iterable[str]) -> dict[str, PersonRecord]: ...
    def households_by_id(self, household_ids: Iterable[str]) -> dict[str, HouseholdRecord]: ...


class ExtractRecords(Protocol):
    def log_part_once(self, extract_id: str, number: int, entry: OperationLogEntry) -> bool:
        """Writes the part's log entry unless the part was logged before; False if it was."""

    def write_provisions(self, provisions: Sequence[ProvisionRecord]) -> None:
        """One provision record per person (their keys derive from the record: a repeat overwrites)."""


@dataclass(frozen=True)
class Execution:
    status: str  # RUNNING, SUCCEEDED, FAILED, TIMED_OUT, ABORTED
    input: dict[str, Any]
    output: dict[str, Any] | None
    error: str | None


class Executions(Protocol):
    def start(self, name: str, payload: dict[str, Any]) -> None: ...
    def describe(self, name: str) -> Execution | None: ...


# -- what the steps pass on --------------------------------------------------------------------------


class ExtractStatus(BaseModel):
    extract_id: str = Field(description="抽出ID")
    system_id: str = Field(description="連携先システムID")
    status: str = Field(description="RUNNING (作成中), SUCCEEDED (完了), FAILED (失敗) など")
    parts: int | None = Field(default=None, description="ファイルの数 (完了時)")
    persons: int | None = Field(default=None, description="人数 (完了時)")
    manifest_key: str | None = Field(default=None, description="目録のキー (完了時、exchange バケット)")
    error: str | None = Field(default=None, description="失敗の理由コード")


@dataclass(frozen=True)
class ListState:
    system_id: str
    extract_id: str
    bucket: str
    registration_version: int
    at: datetime  # the extract's time: every provision record of the extract carries it
    cursor: dict[str, Any] | None = None
    parts: int = 0
    persons: int = 0
    part_size: int = PART_SIZE
    more: bool = True

    def as_output(self) -> dict[str, Any]:
        prefix = extract_prefix(self.system_id, self.extract_id)
        return {
            "system_id": self.system_id,
            "extract_id": self.extract_id,
            "bucket": self.bucket,
            "registration_version": self.registration_version,
            "at": self.at.isoformat(),
            "prefix": prefix,
            "parts_key": parts_list_key(self.system_id, self.extract_id),
            "cursor": self.cursor,
            "parts": self.parts,
            "persons": self.persons,
            "part_size": self.part_size,
            "more": self.more,
        }


@dataclass(frozen=True)
class PartResult:
    number: int
    key: str
    persons: int

    def as_output(self) -> dict[str, Any]:
        return {"number": self.number, "key": self.key, "persons": self.persons}


@dataclass(frozen=True)
class Manifest:
    extract_id: str
    system_id: str
    fields: list[str]
    parts: list[str]
    persons: int
    key: str

    def as_output(self) -> dict[str, Any]:
        return {
            "extract_id": self.extract_id,
            "system_id": self.system_id,
            "fields": self.fields,
            "parts": len(self.parts),
            "persons": self.persons,
            "manifest_key": self.key,
        }


# -- the service ------------------------------------------------------------------------------------


class ExtractService:
    def __init__(
        self,
        registry: Registry,
        persons: CurrentPersons,
        records: Records,
        exchange: Exchange,
        *,
        extracts: ExtractRecords,
        executions: Executions,
        log: OperationLog,
        clock: Clock,
        ids: IdSource,
        exchange_bucket: str,
        municipality: str,
    ) -> None:
        self._registry = registry
        self._persons = persons
        self._records = records
        self._exchange = exchange
        self._extracts = extracts
        self._executions = executions
        self._log = log
        self._clock = clock
        self._ids = ids
        self._bucket = exchange_bucket
        self._municipality = municipality

    # -- the API -----------------------------------------------------------------------------------
    def request(self, system_id: str, actor: Actor) -> ExtractStatus:
        """Starts an extract of an approved system; the request is logged (the persons are logged
        by each part as it is written)."""
        require(actor, Permission.LINKAGE_MANAGE)
        self._approved(system_id)
        now = self._clock.now()
        extract_id = f"{now:%Y%m%dT%H%M%S}-{self._ids.new_id()[:12]}"
        self._log.append(
            entry_for(actor, entry_id=self._ids.new_id(), at=now, function=FUNCTION_REQUEST, action="export",
                      subject=f"platform extract {extract_id} to {Recipient.PLATFORM}.{system_id}")
        )  # fmt: skip
        self._executions.start(extract_id, {"system_id": system_id})
        return ExtractStatus(extract_id=extract_id, system_id=system_id, status="RUNNING")

    def status(self, system_id: str, extract_id: str, actor: Actor) -> ExtractStatus:
        require(actor, Permission.LINKAGE_MANAGE)
        found = self._executions.describe(extract_id) if valid_extract_id(extract_id) else None
        if found is None or found.input.get("system_id") != system_id:
            raise NotFound("EXTRACT_NOT_FOUND", "その連携先の抽出はありません", "extract_id")
        done = found.output if found.status == "SUCCEEDED" and found.output else {}
        return ExtractStatus(
            extract_id=extract_id,
            system_id=system_id,
            status=found.status,
            parts=done.get("parts"),
            persons=done.get("persons"),
            manifest_key=done.get("manifest_key"),
            error=found.error,
        )

    def _approved(self, system_id: str) -> RecipientRegistration:
        registration = self._registry.registration(system_id)
        if registration is None:
            raise unknown_recipient(system_id)
        if not registration.is_approved:
            raise Conflict(
                "RECIPIENT_NOT_APPROVED", "承認されていない連携先には抽出を作成できません", "system_id"
            )
        return registration

    # -- step 1: the ids, in parts -------------------------------------------------------------------
    def start(
        self,
        system_id: str,
        extract_id: str,
        at: datetime,
        part_size: int = PART_SIZE,
        registration_version: int | None = None,
    ) -> ListState:
        """The state of a new listing; with ``registration_version`` (a later call of the same
        listing), the registration must still be that version."""
        if not valid_extract_id(extract_id) or re.fullmatch(_SYSTEM, system_id) is None:
            raise ExtractFailed("EXTRACT_ID_INVALID")
        if not 1 <= part_size <= PART_SIZE:
            raise ExtractFailed("EXTRACT_PART_SIZE_INVALID")
        registration = self._registry.registration(system_id)
        if registration is None or not registration.is_approved:
            raise ExtractFailed("RECIPIENT_NOT_APPROVED")
        if registration_version is not None and registration.version != registration_version:
            raise ExtractFailed("RECIPIENT_CHANGED")
        return ListState(
            system_id=system_id,
            extract_id=extract_id,
            bucket=self._bucket,
            registration_version=registration.version,
            at=at,
            part_size=part_size,
        )

    def list_step(self, state: ListState) -> ListState:
        """Writes up to ``PARTS_PER_CALL`` ids parts from where ``state`` stopped. The last call
        writes at least one part (empty if nobody lives here), so the Map always has an item, and
        then the Map's list of parts 1..n (exactly those: not a stale part of an earlier attempt)."""
        cursor = state.cursor
        number, persons = state.parts, state.persons
        buffer: list[str] = []
        done = False

        def flush(chunk: list[str]) -> None:
            nonlocal number, persons
            number += 1
            persons += len(chunk)
            body = {
                "extract_id": state.extract_id,
                "system_id": state.system_id,
                "registration_version": state.registration_version,
                "at": state.at.isoformat(),
                "person_ids": chunk,
            }
            key = ids_key(state.system_id, state.extract_id, number)
            self._exchange.put(key, json.dumps(body).encode("utf-8"))

        while number - state.parts < PARTS_PER_CALL:
            page = self._persons.scan(cursor, SCAN_PAGE_ITEMS)
            buffer += [p.person_id for p in page.persons if p.status == ResidentStatus.RESIDENT]
            cursor = page.cursor
            done = cursor is None
            while len(buffer) >= state.part_size:
                chunk, buffer = buffer[: state.part_size], buffer[state.part_size :]
                flush(chunk)
            if done:
                break
        # The cursor is at a page boundary: what is left of the page goes out now, as a smaller part.
        if buffer or (done and number == 0):
            flush(buffer)
        if done:
            items = [{"key": ids_key(state.system_id, state.extract_id, n)} for n in range(1, number + 1)]
            self._exchange.put(parts_list_key(state.system_id, state.extract_id), json.dumps(items).encode())
        return ListState(
            system_id=state.system_id,
            extract_id=state.extract_id,
            bucket=state.bucket,
            registration_version=state.registration_version,
            at=state.at,
            cursor=None if done else cursor,
            parts=number,
            persons=persons,
            part_size=state.part_size,
            more=not done,
        )

    # -- step 2: one part ----------------------------------------------------------------------------
    def part_step(self, key: str, actor: SystemActor) -> PartResult:
        """One ids part: the records as they stand now (someone who left since the listing is in
        with their current status), the log entry, the part file, then the provision records."""
        system_id, extract_id, number = _parse_ids_key(key)
        raw = self._exchange.get(key)
        if raw is None:
            raise ExtractFailed("EXTRACT_PART_MISSING")
        listed = json.loads(raw)
        if listed.get("extract_id") != extract_id or listed.get("system_id") != system_id:
            raise ExtractFailed("EXTRACT_PART_KEY_INVALID")
        registration = self._registry.registration(system_id)
        if registration is None or not registration.is_approved:
            raise ExtractFailed("RECIPIENT_NOT_APPROVED")
        if registration.version != listed["registration_version"]:
            raise ExtractFailed("RECIPIENT_CHANGED")  # every part for the same approval, or none
        at = datetime.fromisoformat(listed["at"])
        person_ids: list[str] = list(listed["person_ids"])
        found = self._records.persons_by_id(person_ids)
        records = [found[pid] for pid in person_ids if pid in found]  # one archived meanwhile: gone
        fields = tuple(registration.fields)
        heads: dict[str, str | None] = {}
        if "head_person_id" in fields:
            households = self._records.households_by_id({r.household_id for r in records})
            heads = {hid: h.head_person_id for hid, h in households.items()}
        mid = message_id(extract_id, number)
        recipient = f"{Recipient.PLATFORM}.{system_id}"
        data = [
            delivery_data(
                self._message(
                    mid=mid,
                    recipient=recipient,
                    extract_id=extract_id,
                    registration=registration,
                    record=record,
                    at=at,
                ),
                record,
                self._municipality,
                head_person_id=heads.get(record.household_id),
                approved_fields=fields,
            )
            for record in records
        ]
        persons = [r.person_id for r in records]
        self._extracts.log_part_once(
            extract_id,
            number,
            entry_for(
                actor, entry_id=uuid.uuid5(_ENTRY_IDS, mid).hex, at=self._clock.now(),
                function=FUNCTION_EXTRACT, action="export", persons=sorted(persons),
                subject=f"{recipient} extract {extract_id} part-{number:05d}",
            ),
        )  # fmt: skip
        out = part_key(system_id, extract_id, number)
        self._exchange.put(out, json.dumps(data, ensure_ascii=False).encode("utf-8"))
        self._extracts.write_provisions(
            [
                ProvisionRecord(
                    message_id=mid,
                    recipient=recipient,
                    kind=KIND,
                    legal_basis=registration.legal_basis,
                    persons=[pid],
                    fields=list(fields),
                    at=at,
                    outcome="delivered",
                )
                for pid in persons
            ]
        )
        return PartResult(number=number, key=out, persons=len(persons))

    @staticmethod
    def _message(
        *,
        mid: str,
        recipient: str,
        extract_id: str,
        registration: RecipientRegistration,
        record: PersonRecord,
        at: datetime,
    ) -> OutboundMessage:
        """The extract's record of a person is reduced exactly as a delivery to the system is."""
        return OutboundMessage(
            message_id=mid,
            recipient=recipient,
            kind=KIND,
            movement_id=extract_id,
            person_id=record.person_id,
            household_id=record.household_id,
            sequence=record.version,
            created_at=at,
            stream=recipient,
            legal_basis=registration.legal_basis,
            fields=tuple(registration.fields),
        )

    # -- step 3: the manifest -------------------------------------------------------------------------
    def finish(
        self, system_id: str, extract_id: str, registration_version: int, parts: int, persons: int
    ) -> Manifest:
        """Every part file 1..``parts`` must be in the bucket (a failed Map item wrote none; the
        state keeps no per-part results), ``persons`` being the listing's count; then the
        manifest, written last, marks the extract complete for the recipient."""
        if not valid_extract_id(extract_id) or re.fullmatch(_SYSTEM, system_id) is None:
            raise ExtractFailed("EXTRACT_ID_INVALID")
        expected = {n: part_key(system_id, extract_id, n) for n in range(1, parts + 1)}
        written = self._exchange.keys(f"{extract_prefix(system_id, extract_id)}part-")
        if parts < 1 or not set(expected.values()) <= written:
            raise ExtractFailed("EXTRACT_PART_FAILED")
        registration = self._registry.registration(system_id)
        if registration is None or not registration.is_approved:
            raise ExtractFailed("RECIPIENT_NOT_APPROVED")
        if registration.version != registration_version:
            raise ExtractFailed("RECIPIENT_CHANGED")
        key = manifest_key(system_id, extract_id)
        manifest = Manifest(
            extract_id=extract_id,
            system_id=system_id,
            fields=list(registration.fields),
            parts=[expected[n] for n in sorted(expected)],
            persons=persons,
            key=key,
        )
        body = {
            "extract_id": extract_id,
            "system_id": system_id,
            "fields": manifest.fields,
            "parts": manifest.parts,
            "persons": persons,
        }
        self._exchange.put(key, json.dumps(body, ensure_ascii=False).encode("utf-8"))
        return manifest
