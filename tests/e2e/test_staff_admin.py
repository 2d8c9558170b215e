"""The staff register over HTTP: accounts are made and changed by an administrator, a disabled or
transferred account is refused at its very next request, every sign-in refusal and every change is
in the operation log, and the operator runs scheduled jobs without seeing residents."""

import time
from datetime import datetime, timedelta
from typing import Any

import pytest
from api_support import AUDITOR, CONTRACTOR, STAFF_ADMIN, VIEWER, ApiClient
from juki.adapters.system import JST
from juki.bootstrap import Services
from juki.domain.oplog import OperationLogEntry
from juki_local.system import LocalSystem
from juki_local.tokens import DemoStaff

NEWCOMER = DemoStaff("S9101", "新任 太郎", ("viewer",), "葵区役所", "AOI-INQ-09")
A_PERSON = "/persons/0000000019"


def logged(services: Services, request_id: str) -> list[OperationLogEntry]:
    now = datetime.now(JST)
    return [e for e in services.oplog_reader.between(now - timedelta(hours=1), now + timedelta(seconds=1))
            if e.request_id == request_id]  # fmt: skip


def account(**changes: Any) -> dict[str, Any]:
    return {
        "staff_id": NEWCOMER.staff_id,
        "name": NEWCOMER.name,
        "employee_number": "E-9101",
        "roles": ["viewer"],
        "offices": [NEWCOMER.office],
    } | changes


@pytest.fixture(scope="module")
def newcomer(api: ApiClient) -> DemoStaff:
    created = api.request("POST", "/staff", STAFF_ADMIN, account())
    assert created.status_code == 201, created.text
    return NEWCOMER


def test_a_registered_account_signs_in_with_its_roles(
    api: ApiClient, newcomer: DemoStaff, services: Services
) -> None:
    read = api.request("GET", A_PERSON, newcomer)
    assert read.status_code == 200, read.text
    assert api.request("POST", "/movements", newcomer, body={}).json()["error"]["code"] == "PERMISSION_DENIED"
    history = api.request("GET", f"/staff/{newcomer.staff_id}", STAFF_ADMIN).json()
    assert [(v["version"], v["change"], v["changed_by"]) for v in history["versions"]] == [
        (1, "registered", STAFF_ADMIN.staff_id)
    ]


def test_one_account_per_person(api: ApiClient, newcomer: DemoStaff) -> None:
    again = api.request("POST", "/staff", STAFF_ADMIN, account())
    assert (again.status_code, again.json()["error"]["code"]) == (409, "STAFF_EXISTS")
    shared = api.request("POST", "/staff", STAFF_ADMIN, account(staff_id="SHARED01"))
    assert (shared.status_code, shared.json()["error"]["code"]) == (409, "EMPLOYEE_NUMBER_IN_USE")
    assert api.request("GET", "/staff/SHARED01", STAFF_ADMIN).status_code == 404


def test_nobody_administers_their_own_account(api: ApiClient) -> None:
    own = api.request("PUT", f"/staff/{STAFF_ADMIN.staff_id}/roles", STAFF_ADMIN,
                      {"roles": ["staff_admin", "approver"], "reason": "兼務"})  # fmt: skip
    assert (own.status_code, own.json()["error"]["code"]) == (403, "SELF_ADMINISTRATION")


def test_a_disabled_or_transferred_account_is_refused_at_its_next_request(
    api: ApiClient, local_system: LocalSystem, services: Services
) -> None:
    staff = DemoStaff("S9102", "停止 次郎", ("viewer",), "駿河区役所", "SURUGA-INQ-09")
    created = api.request("POST", "/staff", STAFF_ADMIN,
                          account(staff_id=staff.staff_id, employee_number="E-9102", offices=[staff.office]))  # fmt: skip
    assert created.status_code == 201, created.text
    token = local_system.token(staff)  # one token, valid for hours, used throughout
    assert api.request("GET", A_PERSON, token=token).status_code == 200

    disabled = api.request("POST", f"/staff/{staff.staff_id}/disable", STAFF_ADMIN, {"reason": "調査中"})
    assert disabled.json()["status"] == "disabled"
    refused = api.request("GET", A_PERSON, token=token)
    assert (refused.status_code, refused.json()["error"]["code"]) == (401, "STAFF_DISABLED")
    (entry,) = logged(services, refused.headers["x-amzn-RequestId"])
    assert (entry.action, entry.outcome, entry.code, entry.staff_id) == (
        "login", "refused", "STAFF_DISABLED", f"unverified:{staff.staff_id}",
    )  # fmt: skip
    assert entry.persons == [], "a refused request touches nobody"

    api.request("POST", f"/staff/{staff.staff_id}/enable", STAFF_ADMIN, {"reason": "調査終了"})
    assert api.request("GET", A_PERSON, token=token).status_code == 200
    api.request("POST", f"/staff/{staff.staff_id}/transfer", STAFF_ADMIN, {"reason": "人事異動 (税務課へ)"})
    moved = api.request("GET", A_PERSON, token=token)
    assert (moved.status_code, moved.json()["error"]["code"]) == (401, "STAFF_TRANSFERRED")


def test_an_account_signs_in_only_from_its_offices(api: ApiClient, local_system: LocalSystem) -> None:
    elsewhere = DemoStaff(VIEWER.staff_id, VIEWER.name, VIEWER.roles, "清水区役所", "SHIMIZU-99")
    refused = api.request("GET", A_PERSON, token=local_system.token(elsewhere))
    assert (refused.status_code, refused.json()["error"]["code"]) == (401, "STAFF_OFFICE_NOT_ALLOWED")
    stranger = DemoStaff("S9999", "未登録", ("approver",), "葵区役所", "AOI-01")
    refused = api.request("GET", A_PERSON, token=local_system.token(stranger))
    assert (refused.status_code, refused.json()["error"]["code"]) == (401, "STAFF_NOT_REGISTERED")


@pytest.mark.parametrize(
    ("how", "code"),
    [
        ("missing", "TOKEN_MISSING"),
        ("garbage", "TOKEN_INVALID"),
        ("expired", "TOKEN_EXPIRED"),
        ("audience", "TOKEN_WRONG_AUDIENCE"),
        ("issuer", "TOKEN_WRONG_ISSUER"),
        ("signature", "TOKEN_BAD_SIGNATURE"),
        ("office", "TOKEN_OFFICE_MISSING"),
        ("terminal", "TOKEN_TERMINAL_MISSING"),
        ("long", "TOKEN_TOO_LONG_LIVED"),
    ],
)
def test_every_token_failure_is_refused_with_its_code_and_logged(
    api: ApiClient, local_system: LocalSystem, services: Services, how: str, code: str
) -> None:
    idp, staff = local_system.idp, VIEWER
    good = idp.token(staff, 300)
    token = {
        "missing": "",
        "garbage": "not.a.jwt",
        "expired": idp.token(staff, 60, issued_at=int(time.time()) - 3600),
        "audience": idp.token(staff, 300, audience="another-system"),
        "issuer": idp.token(staff, 300, extra={"iss": "https://elsewhere.invalid"}),
        "signature": good[:-6] + ("AAAAAA" if not good.endswith("AAAAAA") else "BBBBBB"),
        "office": idp.token(staff, 300, extra={"office": ""}),
        "terminal": idp.token(staff, 300, extra={"terminal": ""}),
        "long": idp.token(staff, 7 * 24 * 3600),
    }[how]
    refused = api.request("GET", A_PERSON, token=token or None)
    assert (refused.status_code, refused.json()["error"]["code"]) == (401, code)
    (entry,) = logged(services, refused.headers["x-amzn-RequestId"])
    assert (entry.action, entry.outcome, entry.code) == ("login", "refused", code)


def test_role_changes_are_logged_and_reviewed(
    api: ApiClient, newcomer: DemoStaff, services: Services
) -> None:
    changed = api.request("PUT", f"/staff/{newcomer.staff_id}/roles", STAFF_ADMIN,
                          {"roles": ["clerk"], "reason": "窓口へ配置"})  # fmt: skip
    assert changed.status_code == 200, changed.text
    (entry,) = logged(services, changed.headers["x-amzn-RequestId"])
    assert (entry.function, entry.action, entry.subject, entry.staff_id) == (
        "staff.admin", "update", f"staff:{newcomer.staff_id}", STAFF_ADMIN.staff_id,
    )  # fmt: skip
    assert api.request("POST", "/movements", newcomer, body={}).status_code == 422, "a clerk may now enter"

    review = api.request("GET", "/audit/staff-review?unused_days=30&period_days=7", AUDITOR)
    assert review.status_code == 200, review.text
    report = review.json()
    changes = [(c["staff_id"], c["before"], c["after"]) for c in report["role_changes"]]
    assert (newcomer.staff_id, ["viewer"], ["clerk"]) in changes
    unused = {p["permission"]: p for p in report["unused_permissions"]}
    assert all(p["uses"] == 0 for p in unused.values())
    assert "resident.read" not in unused and "staff.admin" not in unused, "both used in this very test"
    assert api.request("GET", "/audit/staff-review", STAFF_ADMIN).status_code == 403, "the auditor reviews"


def test_the_operator_runs_a_job_and_sees_counts_only(api: ApiClient, services: Services) -> None:
    jobs = api.request("GET", "/operations/jobs", CONTRACTOR)
    assert jobs.status_code == 200, jobs.text
    assert {j["job"] for j in jobs.json()["jobs"]} >= {"oplog-seal", "unusual-access", "retention"}
    started = api.request("POST", "/operations/jobs/unusual-access/runs", CONTRACTOR)
    assert started.status_code == 202, started.text
    run_id = started.json()["run_id"]
    (entry,) = logged(services, started.headers["x-amzn-RequestId"])
    assert (entry.action, entry.subject) == ("run", f"job:unusual-access:{run_id}")
    for _ in range(200):
        run = api.request("GET", f"/operations/jobs/unusual-access/runs/{run_id}", CONTRACTOR).json()
        if run["status"] != "RUNNING":
            break
        time.sleep(0.1)
    assert run["status"] == "SUCCEEDED", run
    assert "findings" in run["output"]
    unknown = api.request("POST", "/operations/jobs/no-such-job/runs", CONTRACTOR)
    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "JOB_NOT_FOUND")
    assert api.request("GET", A_PERSON, CONTRACTOR).status_code == 403, "the operator sees no resident"
