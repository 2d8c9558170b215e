"""The hash chain and its verification, without storage: each kind of tampering is named."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from juki.domain.oplog_chain import (
    GENESIS,
    Candidate,
    ChainHead,
    Link,
    Manifest,
    StoredEntry,
    chain_hash,
    check_batch,
    check_head,
    entry_hash,
    purge_log_subject,
    purge_refusal,
    seal,
)

SEALED_AT = datetime(2025, 4, 1, 12, 0, tzinfo=UTC)


def _body(n: int) -> dict[str, Any]:
    return {"entry_id": f"{n:032x}", "at": f"2025-04-01T10:00:{n:02d}+09:00", "action": "read", "persons": []}


def _sk(n: int) -> str:
    return f"2025-04-01T10:00:{n:02d}+09:00#{n:032x}"


def _candidates(numbers: range) -> list[Candidate]:
    return [Candidate(sk=_sk(n), entry_hash=entry_hash(_body(n)), body=_body(n)) for n in numbers]


def _stored(manifest: Manifest) -> dict[str, StoredEntry]:
    positions = [manifest.prev_chain_hash]
    for entry in manifest.entries:
        positions.append(chain_hash(positions[-1], entry.entry_hash))
    return {
        entry.sk: StoredEntry(
            sk=entry.sk,
            body_hash=entry.entry_hash,
            body_entry_id=entry.entry_id,
            stored_hash=entry.entry_hash,
            seq=entry.seq,
            chain_hash=positions[index + 1],
        )
        for index, entry in enumerate(manifest.entries)
    }


def _batch() -> Manifest:
    return seal(
        ChainHead(), _candidates(range(1, 6)), upper_sk="2025-04-01T11:00:00+09:00", sealed_at=SEALED_AT
    )


def test_canonical_hash_ignores_key_order_and_dynamodb_numbers() -> None:
    assert entry_hash({"a": 1, "b": [True, None]}) == entry_hash({"b": [True, None], "a": Decimal(1)})
    assert entry_hash({"a": "x"}) != entry_hash({"a": "y"})


def test_a_batch_chains_from_the_head_in_sort_key_order() -> None:
    candidates = _candidates(range(1, 4))
    manifest = seal(
        ChainHead(), list(reversed(candidates)), upper_sk="2025-04-01T10:00:05+09:00", sealed_at=SEALED_AT
    )
    assert [e.seq for e in manifest.entries] == [1, 2, 3]
    assert [e.sk for e in manifest.entries] == [c.sk for c in candidates]
    expected = GENESIS
    for candidate in candidates:
        expected = chain_hash(expected, candidate.entry_hash)
    assert manifest.chain_hash == expected
    assert manifest.digest == manifest.content_digest()
    following = seal(
        ChainHead.after(manifest), _candidates(range(10, 12)), upper_sk="2025-04-03", sealed_at=SEALED_AT
    )
    assert (following.first_seq, following.prev_digest) == (4, manifest.digest)
    assert following.lower_sk == "2025-04-01T10:00:05+09:00"
    assert check_batch(following, Link.of(manifest), _stored(following).values(), set()) == ([], 0)


def test_an_intact_batch_has_no_findings() -> None:
    manifest = _batch()
    assert check_batch(manifest, Link.genesis(), _stored(manifest).values(), set()) == ([], 0)
    assert check_head(manifest, ChainHead.after(manifest)) == []


def test_an_altered_body_is_named() -> None:
    manifest = _batch()
    stored = _stored(manifest)
    target = manifest.entries[2]
    stored[target.sk] = replace(stored[target.sk], body_hash=entry_hash({**_body(3), "action": "update"}))
    findings, _ = check_batch(manifest, Link.genesis(), stored.values(), set())
    assert [(f.kind, f.entry_id, f.seq) for f in findings] == [("altered", target.entry_id, 3)]


def test_a_removed_entry_is_named_unless_its_day_was_purged() -> None:
    manifest = _batch()
    stored = _stored(manifest)
    target = manifest.entries[1]
    del stored[target.sk]
    findings, _ = check_batch(manifest, Link.genesis(), stored.values(), set())
    assert [(f.kind, f.entry_id) for f in findings] == [("removed", target.entry_id)]
    assert check_batch(manifest, Link.genesis(), stored.values(), {"2025-04-01"}) == ([], 1)


def test_swapped_entries_are_named_as_reordered() -> None:
    manifest = _batch()
    stored = _stored(manifest)
    first, second = manifest.entries[0], manifest.entries[3]
    stored[first.sk], stored[second.sk] = (
        replace(stored[second.sk], sk=first.sk),
        replace(stored[first.sk], sk=second.sk),
    )
    findings, _ = check_batch(manifest, Link.genesis(), stored.values(), set())
    assert {(f.kind, f.entry_id) for f in findings} == {
        ("reordered", first.entry_id),
        ("reordered", second.entry_id),
    }


def test_a_changed_sequence_number_is_named_as_reordered() -> None:
    manifest = _batch()
    stored = _stored(manifest)
    target = manifest.entries[4]
    stored[target.sk] = replace(stored[target.sk], seq=2)
    findings, _ = check_batch(manifest, Link.genesis(), stored.values(), set())
    assert [(f.kind, f.entry_id) for f in findings] == [("reordered", target.entry_id)]


def test_an_inserted_entry_is_named() -> None:
    manifest = _batch()
    stored = _stored(manifest)
    sk = "2025-04-01T10:00:03.500000+09:00#" + "f" * 32
    stored[sk] = StoredEntry(sk, entry_hash({"x": 1}), "f" * 32, None, None, None)
    findings, _ = check_batch(manifest, Link.genesis(), stored.values(), set())
    assert [(f.kind, f.entry_id) for f in findings] == [("inserted", "f" * 32)]


def test_an_entry_altered_before_sealing_is_named() -> None:
    candidates = _candidates(range(1, 3))
    tampered = Candidate(candidates[1].sk, candidates[1].entry_hash, {**_body(2), "action": "update"})
    manifest = seal(ChainHead(), [candidates[0], tampered], upper_sk="2025-04-02", sealed_at=SEALED_AT)
    findings, _ = check_batch(manifest, Link.genesis(), _stored(manifest).values(), set())
    assert [(f.kind, f.seq) for f in findings] == [("altered", 2)]


@pytest.mark.parametrize(
    ("change", "kind"),
    [
        ({"last_seq": 9}, "manifest_altered"),
        ({"prev_digest": "1" * 64}, "manifest_altered"),
    ],
)
def test_a_changed_manifest_no_longer_gives_its_digest(change: dict[str, Any], kind: str) -> None:
    manifest = _batch().model_copy(update=change)
    findings, _ = check_batch(manifest, Link.genesis(), _stored(manifest).values(), set())
    assert kind in {f.kind for f in findings}


def test_a_forged_manifest_with_a_fresh_digest_breaks_the_link() -> None:
    manifest = _batch().model_copy(update={"prev_digest": "1" * 64})
    forged = manifest.model_copy(update={"digest": manifest.content_digest()})
    findings, _ = check_batch(forged, Link.genesis(), _stored(forged).values(), set())
    assert [(f.kind, f.detail) for f in findings] == [("manifest_link_broken", "prev_digest")]


def test_a_head_that_disagrees_with_the_last_manifest_is_named() -> None:
    manifest = _batch()
    assert [
        f.kind for f in check_head(manifest, ChainHead.after(manifest).model_copy(update={"seq": 4}))
    ] == ["head_mismatch"]


@pytest.mark.parametrize(
    ("head", "where"),
    [
        (ChainHead(), "behind the archive"),  # deleted
        (ChainHead(batch=1, seq=2), "behind the archive"),  # rewound
        (ChainHead(batch=7, seq=5), "beyond the archive"),
    ],
)
def test_a_head_missing_rewound_or_beyond_the_archive_is_named(head: ChainHead, where: str) -> None:
    manifest = _batch().model_copy(update={"batch": 2})
    (finding,) = check_head(manifest, head)
    assert (finding.kind, finding.batch) == ("head_mismatch", head.batch)
    assert where in finding.detail and "the archive ends at batch 2/seq 5" in finding.detail


def test_an_empty_archive_wants_no_head() -> None:
    assert check_head(None, ChainHead()) == []
    assert [f.kind for f in check_head(None, ChainHead(batch=3, seq=9))] == ["head_mismatch"]


def _purge_log(day: date, **change: Any) -> Any:
    body = {
        "entry_id": "f" * 32,
        "function": "oplog.purge",
        "action": "purge",
        "subject": purge_log_subject(day, 3),
        **change,
    }
    manifest = seal(
        ChainHead(),
        [Candidate(sk="2025-04-10T03:00:00+09:00#" + "f" * 32, entry_hash=entry_hash(body), body=body)],
        upper_sk="2025-04-11",
        sealed_at=SEALED_AT,
    )
    return manifest.entries[0]


PURGED_DAY, OLDEST_KEPT = date(2025, 1, 5), date(2025, 1, 10)


def test_a_finished_purge_past_the_retention_with_its_sealed_log_entry_is_accepted() -> None:
    assert purge_refusal(PURGED_DAY, "done", OLDEST_KEPT, _purge_log(PURGED_DAY)) is None


@pytest.mark.parametrize(
    ("day", "status", "log_entry", "reason"),
    [
        (PURGED_DAY, "deleting", "sealed", "not done"),
        (PURGED_DAY, "", "sealed", "not done"),
        (OLDEST_KEPT, "done", "sealed", "within the retention period"),
        (date(2025, 4, 1), "done", "sealed", "within the retention period"),
        (PURGED_DAY, "done", None, "not sealed"),
        (PURGED_DAY, "done", {"subject": purge_log_subject(date(2025, 1, 4), 3)}, "not this day's purge"),
        (PURGED_DAY, "done", {"function": "resident.read"}, "not this day's purge"),
        (PURGED_DAY, "done", {"action": "read"}, "not this day's purge"),
        (PURGED_DAY, "done", "altered", "not this day's purge"),
    ],
)
def test_a_purge_record_is_refused_unless_everything_a_purge_leaves_agrees(
    day: date, status: str, log_entry: Any, reason: str
) -> None:
    sealed = None
    if log_entry == "sealed":
        sealed = _purge_log(day)
    elif log_entry == "altered":
        sealed = _purge_log(day).model_copy(update={"body": {**_purge_log(day).body, "entry_id": "e" * 32}})
    elif isinstance(log_entry, dict):
        sealed = _purge_log(day, **log_entry)
    refusal = purge_refusal(day, status, OLDEST_KEPT, sealed)
    assert refusal is not None and reason in refusal


def test_a_candidate_outside_the_range_is_refused() -> None:
    with pytest.raises(ValueError, match="outside"):
        seal(ChainHead(), _candidates(range(1, 3)), upper_sk="2025-04-01T10:00:01+09:00", sealed_at=SEALED_AT)
