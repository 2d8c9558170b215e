"""The operation log's hash chain (ADR 0009): entry hashes, sealed batches and their verification.

Pure: no I/O. An entry's hash is the SHA-256 of a canonical JSON of its stored body, taken when
the entry is written. The sealer later orders the sealed entries by their sort key (time, then
entry id), numbers them globally and chains them, ``chain_n = SHA-256(chain_{n-1} || entry_n)``;
each batch is described by a manifest whose digest covers its whole content, including the
previous manifest's digest, so the manifests form a chain of their own. The manifests are kept
under Object Lock, so verification trusts them and compares storage with them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

GENESIS = "0" * 64  # the "previous" hash and digest of the very first batch
MANIFEST_VERSION = 1


def _plain(value: Any) -> Any:
    """DynamoDB gives numbers back as Decimal: an integral one hashes as the int it was."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else str(value)
    raise TypeError(f"not JSON: {type(value).__name__}")


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no whitespace, UTF-8: the same body always gives the same bytes."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=_plain
    ).encode()


def entry_hash(body: Mapping[str, Any]) -> str:
    """The content hash of one log entry's stored body (hex)."""
    return hashlib.sha256(canonical_json(dict(body))).hexdigest()


def chain_hash(previous: str, entry: str) -> str:
    """``SHA-256(previous || entry)`` over the raw 32-byte values (hex in, hex out)."""
    return hashlib.sha256(bytes.fromhex(previous) + bytes.fromhex(entry)).hexdigest()


def entry_id_of(sk: str) -> str:
    """The entry id at the end of a log item's sort key ``<at>#<entry_id>``."""
    return sk.rsplit("#", 1)[-1]


def day_of(sk: str) -> str:
    """The JST date (``YYYY-MM-DD``) a log item's sort key starts with: its partition's day."""
    return sk[:10]


class SealedEntry(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    seq: int = Field(description="通番 (全体で一意、1から)")
    entry_id: str
    sk: str = Field(description="格納上の並びキー <日時>#<ログID>")
    entry_hash: str = Field(description="書込み時のエントリのハッシュ")
    body: dict[str, Any] = Field(description="封印時のエントリの内容 (保存期間の後もアーカイブに残る)")


class Manifest(BaseModel):
    """One sealed batch, as archived. The batch covers every entry with ``lower_sk < sk <= upper_sk``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: int = MANIFEST_VERSION
    batch: int
    first_seq: int
    last_seq: int
    lower_sk: str = Field(description="前の封印の上限 (この値は含まない)")
    upper_sk: str = Field(description="この封印の上限 (含む)")
    first_at: str | None = Field(description="最初のエントリの日時")
    last_at: str | None = Field(description="最後のエントリの日時")
    sealed_at: datetime
    entries: list[SealedEntry]
    prev_digest: str
    prev_chain_hash: str
    chain_hash: str
    digest: str

    def content_digest(self) -> str:
        """The digest this manifest's content gives (everything but the digest itself)."""
        return hashlib.sha256(canonical_json(self.model_dump(mode="json", exclude={"digest"}))).hexdigest()


class ChainHead(BaseModel):
    """Where the chain ends: the last sealed batch, its last sequence number and hashes."""

    model_config = ConfigDict(frozen=True)

    batch: int = 0
    seq: int = 0
    chain_hash: str = GENESIS
    digest: str = GENESIS
    upper_sk: str = ""

    @classmethod
    def after(cls, manifest: Manifest) -> ChainHead:
        return cls(
            batch=manifest.batch,
            seq=manifest.last_seq,
            chain_hash=manifest.chain_hash,
            digest=manifest.digest,
            upper_sk=manifest.upper_sk,
        )


@dataclass(frozen=True)
class Candidate:
    """An unsealed entry as read for sealing: its sort key and its content hash."""

    sk: str
    entry_hash: str
    body: Mapping[str, Any]


def seal(head: ChainHead, candidates: Sequence[Candidate], *, upper_sk: str, sealed_at: datetime) -> Manifest:
    """The next batch after ``head``: the candidates in sort-key order, numbered and chained."""
    ordered = sorted(candidates, key=lambda c: c.sk)
    if any(c.sk <= head.upper_sk or c.sk > upper_sk for c in ordered):
        raise ValueError("a candidate lies outside the batch's range")
    entries: list[SealedEntry] = []
    running = head.chain_hash
    for offset, candidate in enumerate(ordered, start=1):
        running = chain_hash(running, candidate.entry_hash)
        entries.append(
            SealedEntry(
                seq=head.seq + offset,
                entry_id=entry_id_of(candidate.sk),
                sk=candidate.sk,
                entry_hash=candidate.entry_hash,
                body=dict(candidate.body),
            )
        )
    draft = Manifest(
        batch=head.batch + 1,
        first_seq=head.seq + 1,
        last_seq=head.seq + len(entries),
        lower_sk=head.upper_sk,
        upper_sk=upper_sk,
        first_at=ordered[0].sk.rsplit("#", 1)[0] if ordered else None,
        last_at=ordered[-1].sk.rsplit("#", 1)[0] if ordered else None,
        sealed_at=sealed_at,
        entries=entries,
        prev_digest=head.digest,
        prev_chain_hash=head.chain_hash,
        chain_hash=running,
        digest="",
    )
    return draft.model_copy(update={"digest": draft.content_digest()})


def chain_positions(manifest: Manifest) -> list[str]:
    """The chain hash after each entry of the batch, in order."""
    running, out = manifest.prev_chain_hash, []
    for entry in manifest.entries:
        running = chain_hash(running, entry.entry_hash)
        out.append(running)
    return out


# -- verification ---------------------------------------------------------------------------

FindingKind = Literal[
    "altered",  # the stored body no longer hashes to the sealed hash
    "removed",  # a sealed entry is gone from storage (and its day was not purged)
    "reordered",  # a sealed entry sits at another position than the one sealed
    "inserted",  # an entry in a sealed range that no manifest lists
    "manifest_altered",  # a manifest's content does not give its digest, or its chain does not add up
    "manifest_link_broken",  # a manifest does not follow the one before it
    "manifest_missing",  # a batch number without a manifest
    "manifest_replaced",  # a manifest key with more than its original version (overwrite or delete marker)
    "head_mismatch",  # the chain head disagrees with the archive's last manifest (missing, behind, ahead)
]


class Finding(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: FindingKind
    batch: int | None = None
    seq: int | None = None
    entry_id: str | None = None
    detail: str = ""


@dataclass(frozen=True)
class StoredEntry:
    """A log item as found in storage, reduced to what verification compares."""

    sk: str
    body_hash: str  # recomputed now from the stored body
    body_entry_id: str | None
    stored_hash: str | None  # the entry_hash attribute written with the entry
    seq: int | None  # the seal attributes written by the sealer
    chain_hash: str | None


@dataclass(frozen=True)
class Link:
    """What the next manifest must follow: the previous batch's end."""

    batch: int
    last_seq: int
    digest: str
    chain_hash: str
    upper_sk: str

    @classmethod
    def of(cls, manifest: Manifest) -> Link:
        return cls(manifest.batch, manifest.last_seq, manifest.digest, manifest.chain_hash, manifest.upper_sk)

    @classmethod
    def genesis(cls) -> Link:
        return cls(0, 0, GENESIS, GENESIS, "")


def _link_findings(manifest: Manifest, previous: Link) -> list[Finding]:
    findings: list[Finding] = []
    if manifest.batch != previous.batch + 1:
        findings.append(
            Finding(kind="manifest_missing", batch=previous.batch + 1, detail=f"next found: {manifest.batch}")
        )
    broken = [
        name
        for name, ok in (
            ("prev_digest", manifest.prev_digest == previous.digest),
            ("prev_chain_hash", manifest.prev_chain_hash == previous.chain_hash),
            ("first_seq", manifest.first_seq == previous.last_seq + 1),
            ("lower_sk", manifest.lower_sk == previous.upper_sk),
        )
        if not ok
    ]
    if broken:
        findings.append(Finding(kind="manifest_link_broken", batch=manifest.batch, detail=", ".join(broken)))
    return findings


def _entry_findings(
    batch: int, entry: SealedEntry, position: str, found: StoredEntry, by_hash: Mapping[str, SealedEntry]
) -> list[Finding]:
    """How a stored entry differs from what was sealed at its place (nothing if it does not)."""

    def finding(kind: FindingKind, detail: str) -> list[Finding]:
        return [Finding(kind=kind, batch=batch, seq=entry.seq, entry_id=entry.entry_id, detail=detail)]

    if found.body_hash != entry.entry_hash:
        moved = by_hash.get(found.body_hash)
        if moved is not None and moved.sk != entry.sk:
            return finding("reordered", f"position {entry.seq} holds the entry sealed at {moved.seq}")
        return finding("altered", "body does not match its sealed hash")
    if found.stored_hash is not None and found.stored_hash != entry.entry_hash:
        return finding("altered", "entry_hash attribute changed")
    if (found.seq is not None and found.seq != entry.seq) or (
        found.chain_hash is not None and found.chain_hash != position
    ):
        return finding("reordered", f"stored seq {found.seq} differs from sealed seq {entry.seq}")
    return []


def check_batch(
    manifest: Manifest,
    previous: Link | None,
    stored: Iterable[StoredEntry],
    purged_days: Container[str],
) -> tuple[list[Finding], int]:
    """Findings for one batch, and how many of its entries were legitimately purged.

    ``previous`` is the batch before (None when it could not be read: the link is then not
    checked); ``stored`` is every stored item with ``lower_sk < sk <= upper_sk``;
    ``purged_days`` holds the days whose purge was accepted (see ``purge_refusal``).
    """
    batch = manifest.batch
    findings: list[Finding] = []
    if manifest.content_digest() != manifest.digest:
        findings.append(Finding(kind="manifest_altered", batch=batch, detail="digest does not match content"))
    if previous is not None:
        findings.extend(_link_findings(manifest, previous))
    positions = chain_positions(manifest)
    seqs_ok = [e.seq for e in manifest.entries] == list(range(manifest.first_seq, manifest.last_seq + 1))
    if not seqs_ok or (positions[-1] if positions else manifest.prev_chain_hash) != manifest.chain_hash:
        findings.append(Finding(kind="manifest_altered", batch=batch, detail="chain does not add up"))

    by_sk = {s.sk: s for s in stored if manifest.lower_sk < s.sk <= manifest.upper_sk}
    by_hash = {e.entry_hash: e for e in manifest.entries}
    purged = 0
    for entry, position in zip(manifest.entries, positions, strict=True):
        if entry_hash(entry.body) != entry.entry_hash:
            findings.append(
                Finding(
                    kind="altered",
                    batch=batch,
                    seq=entry.seq,
                    entry_id=entry.entry_id,
                    detail="altered before it was sealed (archived body does not match its hash)",
                )
            )
        found = by_sk.pop(entry.sk, None)
        if found is not None:
            findings.extend(_entry_findings(batch, entry, position, found, by_hash))
        elif day_of(entry.sk) in purged_days:
            purged += 1
        else:
            findings.append(Finding(kind="removed", batch=batch, seq=entry.seq, entry_id=entry.entry_id))
    for extra in sorted(by_sk.values(), key=lambda s: s.sk):
        findings.append(
            Finding(
                kind="inserted",
                batch=batch,
                seq=extra.seq,
                entry_id=extra.body_entry_id or entry_id_of(extra.sk),
                detail="in a sealed range but in no manifest",
            )
        )
    return findings, purged


def check_head(last: Manifest | None, head: ChainHead) -> list[Finding]:
    """The head must name the archive's last manifest exactly (``last`` None: the archive is
    empty). The archive decides where the chain ends; the head is only the sealer's bookmark."""
    expected = ChainHead() if last is None else ChainHead.after(last)
    if expected == head:
        return []
    if head.batch < expected.batch:
        where = "behind the archive (missing or rewound)"
    elif head.batch > expected.batch:
        where = "beyond the archive"
    else:
        where = "differs from the last manifest"
    return [
        Finding(
            kind="head_mismatch",
            batch=head.batch,
            seq=head.seq,
            detail=(
                f"head batch {head.batch}/seq {head.seq} {where}:"
                f" the archive ends at batch {expected.batch}/seq {expected.seq}"
            ),
        )
    ]


PURGE_FUNCTION = "oplog.purge"


def purge_log_subject(day: date, entries: int) -> str:
    """The subject of the log entry a purge writes for a day (verification looks for it)."""
    return f"oplog day {day.isoformat()}: {entries} entries"


def purge_refusal(day: date, status: str, oldest_kept: date, log_entry: SealedEntry | None) -> str | None:
    """Why a purge record may not excuse the entries missing from its day (None: it may).

    A purge record is an ordinary item anyone with table rights can write, so it counts only when
    everything a real purge leaves agrees: the day is past the retention, the record is finished,
    and the purge's own log entry is sealed (found in an archived manifest, as it was written)
    and names that day."""
    if status != "done":
        return f"purge record {status or 'without status'}, not done"
    if day >= oldest_kept:
        return f"purge record for a day within the retention period (kept from {oldest_kept.isoformat()})"
    if log_entry is None:
        return "the purge's log entry is not sealed"
    body = log_entry.body
    if (
        entry_hash(body) != log_entry.entry_hash
        or body.get("function") != PURGE_FUNCTION
        or body.get("action") != "purge"
        or not str(body.get("subject", "")).startswith(f"oplog day {day.isoformat()}:")
    ):
        return "the sealed log entry the purge record names is not this day's purge"
    return None


class VerifyReport(BaseModel):
    """The result of one verification: counts, and each finding naming the entry or batch."""

    intact: bool
    from_batch: int | None = None
    to_batch: int | None = None
    batches: int = 0
    entries: int = 0
    purged_entries: int = 0
    findings: list[Finding] = Field(default_factory=list)
    head_batch: int = 0
    head_seq: int = 0

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for finding in self.findings:
            out[finding.kind] = out.get(finding.kind, 0) + 1
        return out
