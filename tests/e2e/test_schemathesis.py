"""Schemathesis against the OpenAPI document the local system serves: every operation, with data
that fits the document and data that does not, each request SigV4-signed as the counter system and
sent three times: with the token of a staff member who may call the route, of one who may not,
and with an invalid token.

What must hold for every answer: no 5xx; a documented status answers as documented (status,
content type, body schema, headers; schema-invalid data is refused); a status the document does
not describe (or describes with Powertools' placeholder ``HTTPValidationError``) is a 4xx in the
API's one error shape. Someone without the permission, or without a valid token, never gets a 2xx.

Bounded and repeatable: a few derandomised examples per operation, no shrinking, no example
database. The run goes after the scenario tests (tests/e2e/conftest.py orders it last), so the
drafts, staff accounts and job runs it creates do not meet theirs.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from juki.domain.staff import Permission, Role, permissions_of
from juki_fn.api import ROUTE_PERMISSIONS, STAFF_TOKEN_HEADER, openapi_schema
from juki_local.sigv4 import CallerCredential, sign_headers
from juki_local.system import COUNTER_SYSTEM, KIOSK_SYSTEM, LocalSystem
from juki_local.tokens import DEMO_STAFF, DemoStaff
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

EXAMPLES_PER_OPERATION = 4  # fuzzing phase, per generation mode
CASES_PER_COVERAGE_SCENARIO = 1  # coverage phase: the first case of each scenario per operation
PLACEHOLDER_ERROR_SCHEMA = "#/components/schemas/HTTPValidationError"
ERROR_SHAPE: dict[str, Any] = {
    "type": "object",
    "required": ["error"],
    "additionalProperties": False,
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "field", "issues"],
            "properties": {
                "code": {"type": "string", "pattern": "^[A-Z][A-Z0-9_]*$"},
                "message": {"type": "string", "minLength": 1},
                "field": {"type": ["string", "null"]},
                "issues": {"type": "array"},
            },
        }
    },
}
DOCUMENTED_CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
    negative_data_rejection,
]


class SigV4(requests.auth.AuthBase):
    """Signs the request exactly as it goes on the wire, as a calling system (IAM)."""

    def __init__(self, region: str, credential: CallerCredential = COUNTER_SYSTEM) -> None:
        self.region = region
        self.credential = credential

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        body = request.body or b""
        data = body.encode() if isinstance(body, str) else body
        assert isinstance(data, bytes)
        signed = sign_headers(request.method or "GET", request.url or "", dict(request.headers), data,
                              self.credential, self.region)  # fmt: skip
        request.headers.update(signed)
        return request


@pytest.fixture(scope="module")
def signed_session(local_system: LocalSystem) -> Iterator[requests.Session]:
    with requests.Session() as session:
        session.auth = SigV4(local_system.emulator.region)
        yield session


@pytest.fixture(scope="module")
def kiosk_session(local_system: LocalSystem) -> Iterator[requests.Session]:
    """Signed as the certificate-issuing system (コンビニ交付), the only caller of the /kiosk/ routes."""
    with requests.Session() as session:
        session.auth = SigV4(local_system.emulator.region, KIOSK_SYSTEM)
        yield session


# The document the local system serves at /openapi.json (checked below to be the same), loaded at
# collection so that each operation is a test of its own. (schemathesis.pytest.from_fixture would
# load it from the running system, but its subtests do not run under pytest 9.)
DOCUMENT = openapi_schema()
schema = schemathesis.openapi.from_dict(DOCUMENT)
# The credentials are not data: every request is signed and carries a token (three kinds, below).
schema.config.generation.update(with_security_parameters=False, deterministic=True)


def test_the_fuzzed_document_is_the_one_served(local_system: LocalSystem) -> None:
    assert requests.get(f"{local_system.api_url}/openapi.json", timeout=30).json() == DOCUMENT


def _roles(staff: DemoStaff) -> frozenset[Role]:
    return frozenset(Role(role) for role in staff.roles if role in Role.__members__.values())


def staff_for(permission: Permission) -> tuple[DemoStaff, DemoStaff | None]:
    """A demo staff member who has the permission, and one who has not (None if everyone has)."""
    allowed = [staff for staff in DEMO_STAFF if permission in permissions_of(_roles(staff))]
    refused = [staff for staff in DEMO_STAFF if permission not in permissions_of(_roles(staff))]
    assert allowed, f"no demo staff member may use {permission}"
    return allowed[0], (refused[0] if refused else None)


def _documented_schema_ref(operation: dict[str, Any], status: int) -> str | None:
    """The documented response of the status ("404", "4XX" or "default"), by its schema's $ref."""
    responses = operation.get("responses", {})
    for key in (str(status), f"{str(status)[0]}XX", "default"):
        if key in responses:
            content = responses[key].get("content", {})
            schema_ = content.get("application/json", {}).get("schema", {})
            return str(schema_.get("$ref", "")) or "inline"
    return None


def _is_documented(case: schemathesis.Case, status: int) -> bool:
    ref = _documented_schema_ref(case.operation.definition.raw, status)
    return ref is not None and ref != PLACEHOLDER_ERROR_SCHEMA


def _content_type(response: schemathesis.Response) -> str:
    values = [
        value
        for name, values in response.headers.items()
        if name.lower() == "content-type"
        for value in values
    ]
    return values[0] if values else ""


def _assert_error_answer(case: schemathesis.Case, response: schemathesis.Response, who: str) -> None:
    where = f"{case.method} {case.formatted_path} ({who})"
    assert 400 <= response.status_code < 500, f"{where}: {response.status_code} {response.text[:500]}"
    assert _content_type(response).startswith("application/json"), f"{where}: {_content_type(response)}"
    try:
        jsonschema.validate(response.json(), ERROR_SHAPE)
    except (ValueError, jsonschema.ValidationError) as error:
        pytest.fail(f"{where}: {response.status_code} is not in the error shape: {error}")


def _check(case: schemathesis.Case, response: schemathesis.Response, who: str) -> None:
    if _is_documented(case, response.status_code):
        case.validate_response(response, checks=DOCUMENTED_CHECKS)
    else:
        case.validate_response(response, checks=[not_a_server_error])
        _assert_error_answer(case, response, who)


_covered: set[tuple[str, str, str, str | None, str | None]] = set()


def _is_repeat(case: schemathesis.Case) -> bool:
    """A coverage case of a scenario already tried on this operation (and at the same place).
    The coverage phase derives thousands of cases from the movement notice alone; one of each
    kind keeps the run bounded and still tries every kind of input it knows."""
    meta = case.meta
    if meta is None or meta.phase.name.value != "coverage":
        return False
    data = meta.phase.data
    key = (case.operation.method, case.operation.path, str(getattr(data, "scenario", "")),
           getattr(data, "location", None), str(meta.generation.mode))  # fmt: skip
    if key in _covered:
        return True
    _covered.add(key)
    return False


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    database=None,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_answers_as_documented(
    case: schemathesis.Case,
    local_system: LocalSystem,
    signed_session: requests.Session,
    kiosk_session: requests.Session,
) -> None:
    if _is_repeat(case):
        return
    # The operation's own method: a negative case may send another (TRACE, say) to the same path.
    permission = ROUTE_PERMISSIONS[(case.operation.method.upper(), case.operation.path)]
    if permission is Permission.KIOSK_ISSUE:
        _check_kiosk_route(case, local_system, kiosk_session, signed_session)
        return
    allowed, refused = staff_for(permission)
    base_url = local_system.api_url

    def call(token: str) -> schemathesis.Response:
        return case.call(base_url=base_url, session=signed_session, headers={STAFF_TOKEN_HEADER: token})

    _check(case, call(local_system.token(allowed)), f"{allowed.role} may")

    if refused is not None:
        answer = call(local_system.token(refused))
        _check(case, answer, f"{refused.role} may not")
        assert not 200 <= answer.status_code < 300, (
            f"{case.method} {case.formatted_path}: {refused.role} got {answer.status_code}"
        )

    invalid = call(f"invalid.{uuid.uuid4().hex}.token")
    _check(case, invalid, "invalid token")
    assert invalid.status_code == 401, (
        f"{case.method} {case.formatted_path}: {invalid.status_code} {invalid.text}"
    )


def _check_kiosk_route(
    case: schemathesis.Case,
    system: LocalSystem,
    kiosk_session: requests.Session,
    counter_session: requests.Session,
) -> None:
    """A /kiosk/ route answers the certificate-issuing system (its IAM role and a terminal) as
    documented, and refuses every other caller whatever staff token it brings."""
    kiosk = case.call(
        base_url=system.api_url, session=kiosk_session, headers={"X-Juki-Kiosk-Terminal": "KIOSK-01"}
    )
    _check(case, kiosk, "the kiosk system")
    for token in (system.token(DEMO_STAFF[0]), f"invalid.{uuid.uuid4().hex}.token"):
        other = case.call(
            base_url=system.api_url, session=counter_session, headers={STAFF_TOKEN_HEADER: token}
        )
        _check(case, other, "the counter system")
        assert other.status_code == 403, (
            f"{case.method} {case.formatted_path}: {other.status_code} {other.text}"
        )


def test_the_document_describes_the_error_answers() -> None:
    missing = [
        f"{method.upper()} {path} {status}"
        for path, operations in DOCUMENT["paths"].items()
        for method, operation in operations.items()
        for status in (401, 403, 422)
        if _documented_schema_ref(operation, status) in (None, PLACEHOLDER_ERROR_SCHEMA)
    ]
    assert not missing, f"{len(missing)} error answers undocumented, e.g. {missing[:5]}"
