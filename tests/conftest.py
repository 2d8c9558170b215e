"""Shared fixtures: one local system (moto server, resources, demo ledger, API) per test session.

moto keeps its state in this process, so the integration and end-to-end tests share one
emulator; every test makes its own movements and people, so they do not step on each other.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from juki import bootstrap
from juki.bootstrap import Services
from juki_local.sigv4 import CallerCredential, sign_headers
from juki_local.system import COUNTER_SYSTEM, LocalOptions, LocalSystem
from juki_local.tokens import DEMO_BY_ROLE, DemoStaff

CLERK, APPROVER, VIEWER = DEMO_BY_ROLE["clerk"], DEMO_BY_ROLE["approver"], DEMO_BY_ROLE["viewer"]
RESTRICTION_OFFICER = DEMO_BY_ROLE["restriction_officer"]
AUDITOR = DEMO_BY_ROLE["auditor"]
PRIVACY_OFFICER = DEMO_BY_ROLE["privacy_officer"]
STAFF_ADMIN = DEMO_BY_ROLE["staff_admin"]
CONTRACTOR = DEMO_BY_ROLE["contractor"]
E2E_RESIDENTS = 120


@pytest.fixture(scope="session")
def local_system() -> Iterator[LocalSystem]:
    system = LocalSystem(LocalOptions(api_port=0, residents=E2E_RESIDENTS, approval_wait_seconds=20))
    system.start()
    try:
        yield system
    finally:
        system.stop()


@pytest.fixture(scope="session")
def services(local_system: LocalSystem) -> Services:
    return bootstrap.services()


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


@pytest.fixture(scope="session")
def api(local_system: LocalSystem) -> ApiClient:
    return ApiClient(local_system)
