"""Every route × every role, over HTTP: allowed exactly when the one table of permissions says so.

The expectations are generated from ``ROUTE_PERMISSIONS`` (route → permission) and
``ROLE_PERMISSIONS`` (role → permissions), over the routes the API actually registers: a new
route without a rule, or a role that gains a permission by accident, fails here.
A refusal must come before the request is read: a caller who may not use a route gets 403
even with a body that would not validate.
"""

import re

import pytest
from api_support import ApiClient
from juki.domain.staff import ROLE_PERMISSIONS, STAFF_ROLES
from juki_fn.api import ROUTE_PERMISSIONS, app
from juki_local.tokens import DEMO_BY_ROLE

SAMPLE_VALUES = {
    "person_id": "0000000019",
    "household_id": "0000000019",
    "staff_id": "S9999",
    "job_id": "no-such-job",
    "run_id": "no-such-run",
    "day": "2020-01-01",
}


def _sample_path(template: str) -> str:
    return re.sub(r"\{([^}]+)\}", lambda m: SAMPLE_VALUES.get(m.group(1), "0" * 32), template)


REGISTERED = sorted(
    {(route.method, route.openapi_path) for route in app._static_routes + app._dynamic_routes}
)


def test_the_table_covers_every_role_and_route() -> None:
    assert set(DEMO_BY_ROLE) == {role.value for role in STAFF_ROLES}, "a demo account per staff role"
    assert set(REGISTERED) == set(ROUTE_PERMISSIONS)


@pytest.mark.parametrize(("method", "template"), REGISTERED, ids=[f"{m} {t}" for m, t in REGISTERED])
def test_route_by_role(api: ApiClient, method: str, template: str) -> None:
    permission = ROUTE_PERMISSIONS.get((method, template))
    assert permission is not None, f"{method} {template} has no rule in ROUTE_PERMISSIONS"
    path = _sample_path(template)
    body = {} if method in ("POST", "PUT") else None
    outcomes = {}
    for role in sorted(STAFF_ROLES):
        response = api.request(method, path, DEMO_BY_ROLE[role.value], body=body)
        code = response.json().get("error", {}).get("code") if response.status_code >= 400 else None
        outcomes[role] = (response.status_code, code)
    for role, (status, code) in outcomes.items():
        if permission in ROLE_PERMISSIONS[role]:
            assert status < 500 and code not in ("PERMISSION_DENIED", "ROUTE_NOT_FOUND"), (role, status, code)
        elif template.startswith("/kiosk/"):  # the certificate-issuing system's: its IAM role, no staff
            assert (status, code) == (403, "KIOSK_CALLER_NOT_ALLOWED"), (role, status, code)
        else:
            assert (status, code) == (403, "PERMISSION_DENIED"), (role, status, code)
