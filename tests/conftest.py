"""Shared fixtures: one local system (moto server, resources, demo ledger, API) per test session.

moto keeps its state in this process, so the integration and end-to-end tests share one
emulator; every test makes its own movements and people, so they do not step on each other.
Tests import their helpers from ``api_support``, never from a conftest.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from api_support import E2E_RESIDENTS, ApiClient
from juki import bootstrap
from juki.bootstrap import Services
from juki_local.system import LocalOptions, LocalSystem


@pytest.fixture(scope="session")
def local_system() -> Iterator[LocalSystem]:
    system = LocalSystem(
        LocalOptions(
            api_port=0, residents=E2E_RESIDENTS, approval_wait_seconds=20, linkage_first_backoff_seconds=0
        )
    )
    system.start()
    try:
        yield system
    finally:
        system.stop()


@pytest.fixture(scope="session")
def services(local_system: LocalSystem) -> Services:
    return bootstrap.services()


@pytest.fixture(scope="session")
def api(local_system: LocalSystem) -> ApiClient:
    return ApiClient(local_system)
