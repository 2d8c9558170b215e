"""A recipient system's full extract (共通基盤, issue 6) on the local system: requested through the API
for an approved system, run by the ``platform-extract`` state machine (a Distributed Map over the
ids parts listed in ids/parts.json), it holds every current resident with the approved fields
only, a provision record each, and a manifest; an unapproved system is refused; a part written
twice records nothing twice; a part file missing fails the finish; a stale ids part is not read."""

from __future__ import annotations

import json
import time
import uuid
from datetime import timedelta
from typing import Any

import pytest
from api_support import AUDITOR, CLERK, STAFF_ADMIN, ApiClient
from juki import bootstrap
from juki.adapters.consistency import LedgerCurrentPersons
from juki.adapters.extracts import build_extracts
from juki.adapters.linkage import build_linkage_store
from juki.adapters.system import SystemClock
from juki.domain.staff import SystemActor
from juki.services.extracts import JOB, KIND, ExtractFailed, ids_key, message_id, part_key, parts_list_key
from juki_fn import extract_tasks
from juki_local.lambda_context import new_context
from juki_local.system import LocalSystem
from juki_local.tokens import DemoStaff

SECOND_ADMIN = DemoStaff("S7002", "管理 七郎", ("staff_admin",), "静岡市役所", "CITY-ADMIN-02")
FIELDS = ["person_id", "name", "address", "head_person_id", "status", "effective_date"]


def register(api: ApiClient, local_system: LocalSystem, *, approve: bool) -> str:
    local_system.register_staff(SECOND_ADMIN)
    system_id = f"extract-{uuid.uuid4().hex[:8]}"
    registered = api.request("POST", "/linkage/recipients", STAFF_ADMIN, {
        "system_id": system_id, "name": "介護保険システム", "legal_basis": "介護保険法第203条",
        "fields": FIELDS,
    })  # fmt: skip
    assert registered.status_code == 201, registered.text
    if approve:
        approved = api.request("POST", f"/linkage/recipients/{system_id}/approve", SECOND_ADMIN)
        assert approved.status_code == 200, approved.text
    return system_id


def wait(api: ApiClient, system_id: str, extract_id: str) -> dict[str, Any]:
    for _ in range(2400):
        answer = api.request("GET", f"/linkage/recipients/{system_id}/extracts/{extract_id}", STAFF_ADMIN)
        assert answer.status_code == 200, answer.text
        body: dict[str, Any] = answer.json()
        if body["status"] != "RUNNING":
            return body
        time.sleep(0.05)
    raise AssertionError("the extract did not finish")


def current_residents() -> set[str]:
    settings = bootstrap.services().settings
    scan = LedgerCurrentPersons(settings.ledger_table, settings.region, settings.endpoint_url)
    found: set[str] = set()
    cursor: dict[str, Any] | None = None
    while True:
        page = scan.scan(cursor, 1000)
        found |= {p.person_id for p in page.persons if p.status == "resident"}
        cursor = page.cursor
        if cursor is None:
            return found


def new_extract_id() -> str:
    return f"{SystemClock().now():%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:12]}"


def context(name: str) -> Any:
    return new_context(name, f"arn:aws:lambda:ap-northeast-1:123456789012:function:{name}", 300)


def exists(local_system: LocalSystem, key: str) -> bool:
    s3 = local_system.emulator.client("s3")
    found = s3.list_objects_v2(Bucket=local_system.resources.buckets["exchange"], Prefix=key)
    return any(item["Key"] == key for item in found.get("Contents", []))


def read_json(local_system: LocalSystem, key: str) -> Any:
    s3 = local_system.emulator.client("s3")
    body = s3.get_object(Bucket=local_system.resources.buckets["exchange"], Key=key)["Body"].read()
    return json.loads(body)


def records_of(local_system: LocalSystem, manifest: dict[str, Any]) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    for key in manifest["parts"]:
        records += read_json(local_system, key)
    return records


def test_an_approved_system_gets_every_resident_with_its_fields_only(
    api: ApiClient, local_system: LocalSystem
) -> None:
    system_id = register(api, local_system, approve=True)
    requested = api.request("POST", f"/linkage/recipients/{system_id}/extracts", STAFF_ADMIN)
    assert requested.status_code == 202, requested.text
    extract_id = requested.json()["extract_id"]
    assert requested.json() == {"extract_id": extract_id, "system_id": system_id, "status": "RUNNING"}

    done = wait(api, system_id, extract_id)
    assert done["status"] == "SUCCEEDED", done
    residents = current_residents()
    prefix = f"outbound/platform/{system_id}/extracts/{extract_id}/"
    assert done["manifest_key"] == f"{prefix}manifest.json"
    manifest = read_json(local_system, done["manifest_key"])
    assert manifest["extract_id"] == extract_id and manifest["system_id"] == system_id
    assert manifest["fields"] == FIELDS
    assert manifest["persons"] == done["persons"] == len(residents)
    assert manifest["parts"] == [f"{prefix}part-{n:05d}.json" for n in range(1, done["parts"] + 1)]

    records = records_of(local_system, manifest)
    assert all(set(record) <= set(FIELDS) for record in records)
    assert {record["person_id"] for record in records} == residents
    assert len(records) == len(residents)
    assert all(record["status"] == "resident" for record in records)
    assert any(record["head_person_id"] == record["person_id"] for record in records)

    someone = sorted(residents)[0]
    provisions = api.request("GET", f"/persons/{someone}/provisions", AUDITOR)
    assert provisions.status_code == 200, provisions.text
    mine = [p for p in provisions.json()["provisions"] if p["message_id"].startswith(f"{extract_id}:")]
    assert len(mine) == 1, mine
    assert mine[0]["recipient"] == f"platform.{system_id}" and mine[0]["kind"] == KIND
    assert mine[0]["legal_basis"] == "介護保険法第203条" and mine[0]["outcome"] == "delivered"
    assert mine[0]["fields"] == FIELDS and mine[0]["persons"] == [someone]

    # The request and each part are in the operation log (the part's entry names its persons).
    now = SystemClock().now()
    entries = list(
        bootstrap.services().oplog_reader.between(now - timedelta(hours=1), now + timedelta(minutes=1))
    )
    asked = [e for e in entries if e.subject and extract_id in e.subject and e.function == "linkage.manage"]
    assert [(e.action, e.staff_id) for e in asked] == [("export", STAFF_ADMIN.staff_id)]
    parts = [e for e in entries if e.subject and extract_id in e.subject and e.staff_id == f"system:{JOB}"]
    assert len(parts) == done["parts"] and all(e.action == "export" for e in parts)
    assert {p for e in parts for p in e.persons} == residents


def test_the_map_runs_one_item_per_part(api: ApiClient, local_system: LocalSystem) -> None:
    """Small parts (the API asks for 500 a part) so that the Map has several items."""
    system_id = register(api, local_system, approve=True)
    extract_id = new_extract_id()
    sfn = local_system.emulator.client("stepfunctions")
    sfn.start_execution(
        stateMachineArn=local_system.resources.state_machines["platform-extract"],
        name=extract_id,
        input=json.dumps({"system_id": system_id, "part_size": 40}),
    )
    done = wait(api, system_id, extract_id)
    assert done["status"] == "SUCCEEDED", done
    residents = current_residents()
    assert done["parts"] == -(-len(residents) // 40) and done["parts"] > 2
    records = records_of(local_system, read_json(local_system, done["manifest_key"]))
    assert sorted(r["person_id"] for r in records) == sorted(residents)


def test_an_unapproved_or_unknown_system_gets_no_extract(api: ApiClient, local_system: LocalSystem) -> None:
    system_id = register(api, local_system, approve=False)
    refused = api.request("POST", f"/linkage/recipients/{system_id}/extracts", STAFF_ADMIN)
    assert refused.status_code == 409, refused.text
    assert refused.json()["error"]["code"] == "RECIPIENT_NOT_APPROVED"
    unknown = api.request("POST", "/linkage/recipients/no-such-system/extracts", STAFF_ADMIN)
    assert unknown.status_code == 404 and unknown.json()["error"]["code"] == "RECIPIENT_NOT_FOUND"
    assert api.request("POST", f"/linkage/recipients/{system_id}/extracts", CLERK).status_code == 403
    missing = api.request(
        "GET", f"/linkage/recipients/{system_id}/extracts/20260101T000000-0123456789ab", STAFF_ADMIN
    )
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "EXTRACT_NOT_FOUND"


def test_a_part_written_twice_records_each_provision_once_and_stops_once_suspended(
    api: ApiClient, local_system: LocalSystem
) -> None:
    system_id = register(api, local_system, approve=True)
    requested = api.request("POST", f"/linkage/recipients/{system_id}/extracts", STAFF_ADMIN)
    assert requested.status_code == 202, requested.text
    extract_id = requested.json()["extract_id"]
    assert wait(api, system_id, extract_id)["status"] == "SUCCEEDED"
    service = bootstrap.services().part(build_extracts)
    first = ids_key(system_id, extract_id, 1)
    listed = read_json(local_system, first)["person_ids"]

    again = service.part_step(first, SystemActor(JOB, "retried-part"))  # a retried Map item
    assert again.persons == len(listed)
    linkage = bootstrap.services().part(build_linkage_store)
    for person in listed[:25]:
        found = [p for p in linkage.provisions_for(person) if p.message_id == message_id(extract_id, 1)]
        assert len(found) == 1, (person, found)
    now = SystemClock().now()
    logged = [
        e
        for e in bootstrap.services().oplog_reader.by_staff(
            f"system:{JOB}", now - timedelta(hours=1), now + timedelta(minutes=1)
        )
        if e.subject and f"{extract_id} part-00001" in e.subject
    ]
    assert len(logged) == 1

    suspended = api.request("POST", f"/linkage/recipients/{system_id}/suspend", SECOND_ADMIN)
    assert suspended.status_code == 200, suspended.text
    with pytest.raises(ExtractFailed) as refused:
        service.part_step(first, SystemActor(JOB, "after-suspension"))
    assert refused.value.code == "RECIPIENT_NOT_APPROVED"


def test_a_part_file_missing_fails_the_finish(api: ApiClient, local_system: LocalSystem) -> None:
    """The Map keeps no per-part results (a city's would not fit in the state): the finish step
    finds every part file 1..n in the bucket, or fails the run rather than hand over a manifest."""
    system_id = register(api, local_system, approve=True)
    extract_id = new_extract_id()
    event: dict[str, Any] = {"execution": extract_id, "input": {"system_id": system_id, "part_size": 40}}
    listed = extract_tasks.list_handler(event, context("platform-extract-list"))
    while listed["more"]:
        listed = extract_tasks.list_handler({**event, "input": listed}, context("platform-extract-list"))
    parts = listed["parts"]
    assert parts > 2 and listed["persons"] == len(current_residents())
    items = read_json(local_system, parts_list_key(system_id, extract_id))
    assert items == [{"key": ids_key(system_id, extract_id, n)} for n in range(1, parts + 1)]

    for item in items[:-1]:  # the last part failed
        extract_tasks.part_handler({"input": item}, context("platform-extract-part"))
    finish = {"execution": extract_id, "input": listed}
    with pytest.raises(extract_tasks.PlatformExtractFailed) as failed:
        extract_tasks.finish_handler(finish, context("platform-extract-finish"))
    assert str(failed.value) == "EXTRACT_PART_FAILED"
    prefix = f"outbound/platform/{system_id}/extracts/{extract_id}/"
    assert not exists(local_system, f"{prefix}manifest.json")

    extract_tasks.part_handler({"input": items[-1]}, context("platform-extract-part"))  # retried
    done = extract_tasks.finish_handler(finish, context("platform-extract-finish"))
    assert (done["parts"], done["persons"]) == (parts, listed["persons"])
    manifest = read_json(local_system, done["manifest_key"])
    assert manifest["parts"] == [part_key(system_id, extract_id, n) for n in range(1, parts + 1)]
    assert manifest["persons"] == listed["persons"]


def test_a_stale_ids_part_is_not_extracted(api: ApiClient, local_system: LocalSystem) -> None:
    """A list call retried after a timeout may write fewer parts than the attempt before it: the
    Map reads ids/parts.json (parts 1..n), so a leftover higher-numbered part is never processed."""
    system_id = register(api, local_system, approve=True)
    extract_id = new_extract_id()
    registration = bootstrap.services().part(build_linkage_store).registration(system_id)
    assert registration is not None
    stale_persons = sorted(current_residents())[:3]
    stale = ids_key(system_id, extract_id, 900)  # as an earlier attempt would have left it
    s3 = local_system.emulator.client("s3")
    s3.put_object(
        Bucket=local_system.resources.buckets["exchange"],
        Key=stale,
        Body=json.dumps({
            "extract_id": extract_id, "system_id": system_id,
            "registration_version": registration.version, "at": SystemClock().now().isoformat(),
            "person_ids": stale_persons,
        }).encode(),
    )  # fmt: skip
    local_system.emulator.client("stepfunctions").start_execution(
        stateMachineArn=local_system.resources.state_machines["platform-extract"],
        name=extract_id,
        input=json.dumps({"system_id": system_id, "part_size": 100}),
    )
    done = wait(api, system_id, extract_id)
    assert done["status"] == "SUCCEEDED", done
    assert done["parts"] < 900
    assert not exists(local_system, part_key(system_id, extract_id, 900))
    linkage = bootstrap.services().part(build_linkage_store)
    for person in stale_persons:
        mine = [
            p.message_id for p in linkage.provisions_for(person) if p.message_id.startswith(f"{extract_id}:")
        ]
        assert mine and message_id(extract_id, 900) not in mine, (person, mine)
