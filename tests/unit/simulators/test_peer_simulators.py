"""The peer simulators keep the peer's side of docs/linkage.md, over real HTTP.

S3 is a moto server of this module's own, not ``mock_aws``: ``mock_aws`` resets every moto backend
when it starts and stops, which would wipe the session-wide local system that other tests share.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from typing import Any

import boto3
import pytest
import requests
from juki.domain.codes import is_valid_my_number, is_valid_resident_code, resident_code_check_digit
from juki.domain.retention import MoveOutCertificate
from moto.server import ThreadedMotoServer

from simulators import PeerSimulators

REGION = "ap-northeast-1"


class FakeClock:
    """The fault windows' clock, moved on by the test instead of sleeping."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture(scope="module")
def s3() -> Iterator[Any]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    client = boto3.client(
        "s3",
        region_name=REGION,
        endpoint_url=f"http://{host}:{port}",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        aws_session_token="testing",
    )
    try:
        yield client
    finally:
        server.stop()


@pytest.fixture
def bucket(s3: Any) -> str:
    name = f"exchange-{uuid.uuid4().hex[:12]}"
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": REGION})
    return name


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def peers(s3: Any, bucket: str, clock: FakeClock) -> Iterator[PeerSimulators]:
    with PeerSimulators(s3, bucket, seed=7, clock=clock) as started:
        yield started


def code(n: int) -> str:
    first10 = f"{n:010d}"
    return f"{first10}{resident_code_check_digit(first10)}"


def identity(person_id: str, resident_code: str | None, **changes: Any) -> dict[str, Any]:
    return {
        "person_id": person_id,
        "resident_code": resident_code,
        "my_number": None,
        "name": "静岡 太郎",
        "name_kana": "シズオカ タロウ",
        "birth_date": "1990-04-01",
        "sex": "male",
        "address": "静岡県静岡市葵区追手町5番1号",
        "status": "resident",
        "reason": "転入",
        "effective_date": "2026-11-26",
        **changes,
    }


def message(
    lane: str, sequence: int, previous: int, kind: str, data: dict[str, Any], message_id: str | None = None
) -> dict[str, Any]:
    return {
        "message_id": message_id or f"m-{uuid.uuid4().hex}",
        "kind": kind,
        "lane": lane,
        "sequence": sequence,
        "previous_sequence": previous,
        "sent_at": "2026-11-26T10:00:00+09:00",
        "legal_basis": "住民基本台帳法第30条の6",
        "fields": sorted(data),
        "data": data,
    }


def post(url: str, body: dict[str, Any], timeout: float = 5.0) -> requests.Response:
    return requests.post(url, json=body, headers={"Idempotency-Key": body["message_id"]}, timeout=timeout)


def cs_post(peers: PeerSimulators, body: dict[str, Any], timeout: float = 5.0) -> requests.Response:
    return post(f"{peers.cs_url}/v1/messages", body, timeout)


def test_applies_each_lane_in_order_and_keeps_the_identity_record(peers: PeerSimulators) -> None:
    a, b = "cs.identity:P1", "cs:P2"  # the product names its CS lanes by stream
    moved = identity("P1", code(1), address="静岡県静岡市清水区旭町6番8号", reason="転居")
    sent = [
        message(a, 1, 0, "identity.created", identity("P1", code(1))),
        message(b, 1, 0, "identity.created", identity("P2", code(2))),
        message(a, 3, 1, "identity.changed", moved),
        message(a, 4, 3, "identity.removed", {**moved, "reason": "転出"}),
    ]
    answers = [cs_post(peers, body) for body in sent]

    assert [answer.status_code for answer in answers] == [200, 200, 200, 200]
    assert {answer.json()["status"] for answer in answers} == {"applied"}
    assert len({answer.json()["receipt"] for answer in answers}) == 4
    assert [(m.message_id, m.sequence) for m in peers.cs.book.applied(a)] == [
        (sent[0]["message_id"], 1),
        (sent[2]["message_id"], 3),
        (sent[3]["message_id"], 4),
    ]
    assert [m.sequence for m in peers.cs.book.applied(b)] == [1]
    removed = peers.cs.record(code(1))
    assert removed is not None
    assert removed["status"] == "removed"  # identity.removed removes, whatever status the data says
    assert (removed["address"], removed["reason"]) == ("静岡県静岡市清水区旭町6番8号", "転出")


def test_a_repeated_key_is_a_duplicate_with_the_first_receipt_and_is_not_applied_again(
    peers: PeerSimulators,
) -> None:
    body = message("cs:P1", 1, 0, "identity.created", identity("P1", code(1)))
    first = cs_post(peers, body)
    again = cs_post(peers, body)

    assert again.status_code == 200
    assert again.json() == {"status": "duplicate", "receipt": first.json()["receipt"]}
    assert len(peers.cs.book.applied("cs:P1")) == 1
    assert peers.cs.book.duplicates == 1


def test_one_key_delivered_at_once_from_many_threads_is_applied_once(peers: PeerSimulators) -> None:
    body = message("cs.identity:P1", 1, 0, "identity.created", identity("P1", code(1)))
    with ThreadPoolExecutor(max_workers=8) as pool:
        answers = list(pool.map(lambda _: cs_post(peers, body).json(), range(8)))

    assert sorted(answer["status"] for answer in answers) == ["applied"] + ["duplicate"] * 7
    assert len({answer["receipt"] for answer in answers}) == 1
    assert len(peers.cs.applied("cs.identity:P1")) == 1
    assert peers.cs.duplicates == 7


def test_a_message_whose_previous_sequence_is_not_the_last_applied_is_refused(peers: PeerSimulators) -> None:
    early = cs_post(peers, message("cs:P1", 2, 1, "identity.changed", identity("P1", code(1))))
    assert early.status_code == 409
    assert early.json() == {"code": "OUT_OF_ORDER", "last_applied": 0}

    cs_post(peers, message("cs:P1", 1, 0, "identity.created", identity("P1", code(1))))
    stale = cs_post(peers, message("cs:P1", 5, 0, "identity.changed", identity("P1", code(1))))
    assert stale.status_code == 409
    assert stale.json() == {"code": "OUT_OF_ORDER", "last_applied": 1}
    assert peers.cs.book.out_of_order == 2
    assert [m.sequence for m in peers.cs.book.applied("cs:P1")] == [1]


def test_malformed_messages_are_refused_without_naming_any_value(peers: PeerSimulators) -> None:
    url = f"{peers.cs_url}/v1/messages"
    good = message("cs:P1", 1, 0, "identity.created", identity("P1", code(1)))
    no_sex = message("cs:P1", 1, 0, "identity.created", {**identity("P1", code(1)), "sex": "不明"})
    bad_code = message("cs:P1", 1, 0, "identity.created", identity("P1", "12345678901"))
    answers = [
        requests.post(url, data=b"{not json", headers={"Idempotency-Key": "k"}, timeout=5),
        requests.post(url, json=good, headers={"Idempotency-Key": "another-key"}, timeout=5),
        requests.post(url, json=good, timeout=5),
        cs_post(peers, {**good, "lane": "platform.x:P1"}),
        cs_post(peers, {**good, "lane": "cs.identity:"}),
        cs_post(peers, {**good, "kind": "identity.unknown"}),
        cs_post(peers, {**good, "sequence": 1, "previous_sequence": 1}),
        cs_post(peers, no_sex),
        cs_post(peers, bad_code),
    ]

    assert [answer.status_code for answer in answers] == [400] * len(answers)
    assert {answer.json()["code"] for answer in answers} == {"BAD_MESSAGE"}
    assert "sex" in answers[-2].json()["reason"]
    assert "不明" not in answers[-2].text
    assert "12345678901" not in answers[-1].text
    assert peers.cs.book.applied("cs:P1") == []


def test_fail_next_refuses_that_many_requests_then_applies(peers: PeerSimulators) -> None:
    body = message("cs:P1", 1, 0, "identity.created", identity("P1", code(1)))
    peers.cs.fail_next(2, status=502)

    statuses = [cs_post(peers, body).status_code for _ in range(3)]

    assert statuses == [502, 502, 200]
    assert len(peers.cs.book.applied("cs:P1")) == 1
    assert peers.cs.book.duplicates == 0  # the refusals applied nothing


def test_down_for_answers_503_until_the_window_ends(peers: PeerSimulators, clock: FakeClock) -> None:
    body = message("cs:P1", 1, 0, "identity.created", identity("P1", code(1)))
    peers.cs.down_for(30)

    assert cs_post(peers, body).status_code == 503
    clock.advance(29)
    assert cs_post(peers, body).status_code == 503
    assert peers.cs.book.applied("cs:P1") == []
    clock.advance(2)
    assert cs_post(peers, body).json()["status"] == "applied"


def test_slow_for_makes_the_client_time_out_and_the_retry_is_applied_once(peers: PeerSimulators) -> None:
    body = message("cs:P1", 1, 0, "identity.created", identity("P1", code(1)))
    peers.cs.slow_for(60, delay=30)

    with pytest.raises(requests.Timeout):
        cs_post(peers, body, timeout=0.2)
    assert peers.cs.faults.slowed == 1
    peers.cs.reset()  # wakes the request still waiting on the server
    retry = cs_post(peers, body)

    assert retry.status_code == 200
    assert retry.json()["status"] in {"applied", "duplicate"}  # whichever of the two came first
    assert len(peers.cs.book.applied("cs:P1")) == 1


def test_a_lost_answer_is_applied_and_the_retry_is_a_duplicate(peers: PeerSimulators) -> None:
    first = message("cs:P1", 1, 0, "identity.created", identity("P1", code(1)))
    peers.cs.lose_answers(1)

    lost = cs_post(peers, first)
    retry = cs_post(peers, first)
    following = cs_post(peers, message("cs:P1", 2, 1, "identity.changed", identity("P1", code(1))))

    assert lost.status_code == 500
    applied = peers.cs.book.applied("cs:P1")
    assert retry.json() == {"status": "duplicate", "receipt": applied[0].receipt}
    assert following.json()["status"] == "applied"
    assert [m.sequence for m in applied] == [1, 2]
    assert peers.cs.faults.lost == 1


def test_allocated_codes_are_valid_new_and_repeatable(peers: PeerSimulators, s3: Any, bucket: str) -> None:
    url = f"{peers.cs_url}/v1/resident-codes:allocate"
    first = requests.post(url, json={"count": 500}, timeout=5).json()["codes"]
    second = requests.post(url, json={"count": 500}, timeout=5).json()["codes"]

    assert all(is_valid_resident_code(c) for c in first + second)
    assert len(set(first + second)) == 1000
    assert requests.post(url, json={"count": 0}, timeout=5).status_code == 400

    with PeerSimulators(s3, bucket, seed=7) as same_seed:
        repeated = same_seed.cs.allocate({"count": 500})["codes"]
    assert repeated == first
    with PeerSimulators(s3, bucket, seed=7) as reserved:
        reserved.cs.reserve_codes(first[:10])
        assert set(reserved.cs.allocate({"count": 10})["codes"]).isdisjoint(first[:10])


def test_my_number_request_designates_a_number_and_sends_it_back_as_a_file(
    peers: PeerSimulators, s3: Any, bucket: str
) -> None:
    cs_post(peers, message("cs:P9", 1, 0, "identity.created", identity("P9", code(9), reason="出生")))
    request = message(
        "cs.my_number:P9", 2, 0, "my_number.request", {"person_id": "P9", "resident_code": code(9)}
    )

    assert cs_post(peers, request).json()["status"] == "applied"

    [key] = peers.cs.sent_files()
    envelope = json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())
    sent_at = datetime.fromisoformat(envelope["sent_at"])
    assert key == f"inbound/cs/{sent_at.date().isoformat()}/{envelope['message_id']}.json"
    assert sent_at.utcoffset() == timedelta(hours=9)  # JST
    assert envelope["kind"] == "my_number.designated"
    assert set(envelope["data"]) == {"person_id", "resident_code", "my_number"}
    assert (envelope["data"]["person_id"], envelope["data"]["resident_code"]) == ("P9", code(9))
    number = envelope["data"]["my_number"]
    assert is_valid_my_number(number)
    record = peers.cs.record(code(9))
    assert record is not None
    assert record["my_number"] == number


def test_a_delayed_designation_is_not_written_before_its_time(s3: Any, bucket: str) -> None:
    with PeerSimulators(s3, bucket, seed=7, my_number_delay=60) as peers:
        request = message("cs:P9", 1, 0, "my_number.request", {"person_id": "P9", "resident_code": None})
        assert cs_post(peers, request).json()["status"] == "applied"
        assert [d.person_id for d in peers.cs.designations()] == ["P9"]
        assert peers.cs.sent_files() == []


def test_a_planted_difference_and_a_dropped_record_show_in_the_query(peers: PeerSimulators) -> None:
    loaded = peers.cs.load_records(
        [identity("P1", code(1)), identity("P2", code(2)), identity("P3", code(3))]
    )
    assert loaded == 3
    peers.cs.plant_difference(code(1), "name", "静岡 次郎")
    peers.cs.drop_record(code(2))

    answer = requests.post(
        f"{peers.cs_url}/v1/identity-records:query",
        json={"resident_codes": [code(1), code(2), code(3), code(4)]},
        timeout=5,
    )

    records = {record["resident_code"]: record for record in answer.json()["records"]}
    assert set(records) == {code(1), code(3)}
    assert records[code(1)]["name"] == "静岡 次郎"
    assert records[code(3)]["name"] == "静岡 太郎"
    with pytest.raises(ValueError, match="item"):
        peers.cs.plant_difference(code(1), "favourite_colour", "red")


def test_notices_are_kept_per_kind(peers: PeerSimulators) -> None:
    notice = {
        "resident_code": code(1),
        "moved_in_date": "2026-11-20",
        "destination": {"street": "霞が関2-1-2"},
    }
    cs_post(peers, message("cs:P1", 1, 0, "move_in.notice", notice))
    cs_post(peers, message("cs:P1", 2, 1, "koseki.notice", {"person_id": "P1"}))

    assert peers.cs.notices("move_in.notice") == [notice]
    assert peers.cs.notices("koseki.notice") == [{"person_id": "P1"}]


def test_files_the_cs_sends_on_its_own(peers: PeerSimulators, s3: Any, bucket: str) -> None:
    certificate = MoveOutCertificate.model_validate(
        {
            "certificate_id": "MOC-2026-0001",
            "from_municipality_code": "131016",
            "persons": [
                {
                    "name": {
                        "family_name": "静岡",
                        "given_name": "花子",
                        "family_name_kana": "シズオカ",
                        "given_name_kana": "ハナコ",
                    },
                    "birth_date": "1992-02-29",
                    "sex": "female",
                    "resident_code": code(5),
                    "relationship": "世帯主",
                    "head_of_household": True,
                }
            ],
            "previous_address": {
                "prefecture": "東京都",
                "municipality": "千代田区",
                "street": "霞が関二丁目1番2号",
            },
            "planned_destination": {
                "prefecture": "静岡県",
                "municipality": "静岡市",
                "street": "葵区追手町5番1号",
            },
            "planned_date": "2026-12-01",
        }
    )
    certificate_id = peers.cs.send_move_out_certificate(certificate)
    notice_id = peers.cs.send_move_in_notice(
        code(6),
        date(2026, 11, 20),
        {"prefecture": "東京都", "street": "霞が関二丁目1番2号"},
        date(2026, 11, 21),
    )

    files = {
        json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read())["message_id"]: key
        for key in peers.cs.sent_files()
    }
    sent = {
        mid: json.loads(s3.get_object(Bucket=bucket, Key=key)["Body"].read()) for mid, key in files.items()
    }
    assert set(sent) == {certificate_id, notice_id}
    assert sent[certificate_id]["kind"] == "move_out_certificate"
    assert MoveOutCertificate.model_validate(sent[certificate_id]["data"]) == certificate
    assert sent[certificate_id]["data"] == certificate.model_dump(mode="json")
    assert sent[notice_id] | {"sent_at": None} == {
        "message_id": notice_id,
        "kind": "move_in.notice",
        "sent_at": None,
        "data": {
            "resident_code": code(6),
            "moved_in_date": "2026-11-20",
            "destination": {"prefecture": "東京都", "street": "霞が関二丁目1番2号"},
            "notified_date": "2026-11-21",
        },
    }


def test_platform_recipients_have_their_own_lanes_and_a_record_of_fields(peers: PeerSimulators) -> None:
    url = f"{peers.platform_url}/v1/recipients/kokuho/messages"
    first = message("platform.kokuho:P1", 1, 0, "resident.changed", {"person_id": "P1", "name": "静岡 太郎"})
    second = message("platform.kokuho:P1", 2, 1, "resident.changed", {"person_id": "P1", "address": "葵区"})
    other_system = message("platform.nenkin:P1", 1, 0, "resident.changed", {"person_id": "P1"})

    answers = [post(url, first), post(url, first), post(url, second), post(url, other_system)]

    assert [a.status_code for a in answers] == [200, 200, 200, 400]
    assert answers[1].json()["status"] == "duplicate"
    assert [m.sequence for m in peers.platform.applied("kokuho")] == [1, 2]
    assert peers.platform.fields_received("kokuho") == {"person_id", "name", "address"}
    assert peers.platform.counters("kokuho") == {"duplicates": 1, "out_of_order": 0}
    assert peers.platform.applied("nenkin") == []
    out_of_order = post(url, message("platform.kokuho:P1", 9, 5, "resident.changed", {"person_id": "P1"}))
    assert out_of_order.status_code == 409
    assert out_of_order.json() == {"code": "OUT_OF_ORDER", "last_applied": 2}


def test_faults_are_per_peer_and_unknown_paths_are_404(peers: PeerSimulators) -> None:
    peers.cs.fail_next(1)
    url = f"{peers.platform_url}/v1/recipients/kokuho/messages"

    assert post(url, message("platform.kokuho:P1", 1, 0, "resident.changed", {"person_id": "P1"})).ok
    assert (
        cs_post(peers, message("cs:P1", 1, 0, "identity.created", identity("P1", code(1)))).status_code == 503
    )
    assert requests.post(f"{peers.url}/cs/v1/nothing", json={}, timeout=5).status_code == 404
