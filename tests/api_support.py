"""What the tests import (conftest files only hold fixtures: pytest loads every ``conftest.py`` under
one module name, so importing names from one is ambiguous). The demo staff by role, and a client
that calls the local API as a calling system would."""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

import requests
from boto3.dynamodb.types import TypeDeserializer
from juki_local.sigv4 import CallerCredential, sign_headers
from juki_local.system import COUNTER_SYSTEM, LocalSystem
from juki_local.tokens import DEMO_BY_ROLE, DemoStaff

CLERK, APPROVER, VIEWER = DEMO_BY_ROLE["clerk"], DEMO_BY_ROLE["approver"], DEMO_BY_ROLE["viewer"]
RESTRICTION_OFFICER = DEMO_BY_ROLE["restriction_officer"]
AUDITOR = DEMO_BY_ROLE["auditor"]
PRIVACY_OFFICER = DEMO_BY_ROLE["privacy_officer"]
STAFF_ADMIN = DEMO_BY_ROLE["staff_admin"]
CONTRACTOR = DEMO_BY_ROLE["contractor"]
E2E_RESIDENTS = 120


class ApiClient:
    """Calls the local API as a calling system would: SigV4-signed, with a staff token."""

    def __init__(self, system: LocalSystem, credential: CallerCredential = COUNTER_SYSTEM) -> None:
        self.system = system
        self.credential = credential

    def request(
        self,
        method: str,
        path: str,
        staff: DemoStaff | None = None,
        body: Any = None,
        token: str | None = None,
        raw: bytes | None = None,
    ) -> requests.Response:
        url = f"{self.system.api_url}{path}"
        data = raw if raw is not None else (b"" if body is None else json.dumps(body).encode())
        headers = {"Content-Type": "application/json"} if data else {}
        staff_token = token if token is not None else (self.system.token(staff) if staff else None)
        if staff_token:
            headers["X-Juki-Staff-Token"] = staff_token
        signed = sign_headers(method, url, headers, data, self.credential, self.system.emulator.region)
        return requests.request(method, url, headers=signed, data=data, timeout=60)


def oplog_items(system: LocalSystem) -> list[dict[str, Any]]:
    """Every operation-log entry in the table, all pages, as DynamoDB stores it (the chain head
    and purge records of the sealing job, which have no body, left out)."""
    pages = (
        system.emulator.client("dynamodb")
        .get_paginator("scan")
        .paginate(TableName=system.description.name("oplog"))
    )
    return [item for page in pages for item in page["Items"] if "body" in item]


def oplog_rows(system: LocalSystem) -> list[dict[str, Any]]:
    """The entries' items (keys, seal attributes and body) as plain values."""
    plain = TypeDeserializer()
    return [{key: plain.deserialize(value) for key, value in item.items()} for item in oplog_items(system)]


def oplog_bodies(system: LocalSystem) -> list[dict[str, Any]]:
    """The entries themselves (``OperationLogEntry`` as stored), as plain values."""
    return [row["body"] for row in oplog_rows(system)]


def run_machine(system: LocalSystem, machine: str, payload: dict[str, Any] | None = None) -> dict[str, Any]:
    """Starts a state machine of the local system and waits for its end; the execution described."""
    sfn = system.emulator.client("stepfunctions")
    arn = sfn.start_execution(
        stateMachineArn=system.resources.state_machines[machine],
        name=f"test-{uuid.uuid4().hex}",
        input=json.dumps(payload or {}),
    )["executionArn"]
    for _ in range(1200):
        described = sfn.describe_execution(executionArn=arn)
        if described["status"] != "RUNNING":
            return dict(described)
        time.sleep(0.05)
    raise AssertionError(f"{machine} did not finish")
