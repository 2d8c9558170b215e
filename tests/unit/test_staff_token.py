"""Every way a staff token can be wrong is refused with its own code."""

import time

import pytest
from juki.adapters.staff_token import StaffTokenVerifier
from juki.domain.errors import Unauthenticated
from juki.domain.staff import Role
from juki_local.tokens import DEMO_STAFF, DemoStaff, LocalIdentityProvider

CLERK = DEMO_STAFF[0]


@pytest.fixture(scope="module")
def idp() -> LocalIdentityProvider:
    return LocalIdentityProvider()


@pytest.fixture(scope="module")
def verifier(idp: LocalIdentityProvider) -> StaffTokenVerifier:
    return StaffTokenVerifier(idp.jwks(), idp.issuer, idp.audience, max_lifetime_seconds=900)


def refused(verifier: StaffTokenVerifier, token: str | None) -> str:
    with pytest.raises(Unauthenticated) as raised:
        verifier.actor(token, caller="caller", request_id="r")
    return raised.value.code


def test_a_good_token_names_the_actor(idp: LocalIdentityProvider, verifier: StaffTokenVerifier) -> None:
    actor = verifier.actor(idp.token(CLERK, 600), caller="arn:caller", request_id="r1")
    assert (actor.staff_id, actor.roles, actor.office, actor.terminal, actor.caller) == (
        "S1001", frozenset({Role.CLERK}), "葵区役所", "AOI-COUNTER-01", "arn:caller",
    )  # fmt: skip


def test_missing_token(verifier: StaffTokenVerifier) -> None:
    assert refused(verifier, None) == "TOKEN_MISSING"
    assert refused(verifier, "") == "TOKEN_MISSING"


def test_garbage_token(verifier: StaffTokenVerifier) -> None:
    assert refused(verifier, "not.a.jwt") == "TOKEN_INVALID"


def test_expired(idp: LocalIdentityProvider, verifier: StaffTokenVerifier) -> None:
    assert refused(verifier, idp.token(CLERK, 300, issued_at=int(time.time()) - 900)) == "TOKEN_EXPIRED"


def test_wrong_audience(idp: LocalIdentityProvider, verifier: StaffTokenVerifier) -> None:
    assert refused(verifier, idp.token(CLERK, 300, audience="another-system")) == "TOKEN_WRONG_AUDIENCE"


def test_wrong_issuer(idp: LocalIdentityProvider, verifier: StaffTokenVerifier) -> None:
    assert (
        refused(verifier, idp.token(CLERK, 300, extra={"iss": "https://evil.invalid"}))
        == "TOKEN_WRONG_ISSUER"
    )


def test_bad_signature(idp: LocalIdentityProvider, verifier: StaffTokenVerifier) -> None:
    header, _, signature = idp.token(CLERK, 300).split(".")
    other = LocalIdentityProvider()
    _, other_payload, _ = other.token(CLERK, 300).split(".")
    assert refused(verifier, f"{header}.{other_payload}.{signature}") == "TOKEN_BAD_SIGNATURE"


def test_key_not_configured(verifier: StaffTokenVerifier) -> None:
    assert refused(verifier, LocalIdentityProvider().token(CLERK, 300)) == "TOKEN_UNKNOWN_KEY"


def test_too_long_lived(idp: LocalIdentityProvider, verifier: StaffTokenVerifier) -> None:
    assert refused(verifier, idp.token(CLERK, 3600)) == "TOKEN_TOO_LONG_LIVED"


@pytest.mark.parametrize("missing", ["office", "terminal"])
def test_missing_office_or_terminal(
    idp: LocalIdentityProvider, verifier: StaffTokenVerifier, missing: str
) -> None:
    staff = DemoStaff("S9", "x", ("clerk",), "葵区役所", "T1")
    assert refused(verifier, idp.token(staff, 300, extra={missing: ""})) == f"TOKEN_{missing.upper()}_MISSING"


def test_unknown_roles_grant_nothing(idp: LocalIdentityProvider, verifier: StaffTokenVerifier) -> None:
    staff = DemoStaff("S9", "x", ("administrator", "root"), "葵区役所", "T1")
    actor = verifier.actor(idp.token(staff, 300), caller="c", request_id="r")
    assert actor.roles == frozenset()


@pytest.mark.parametrize(
    ("extra", "field"),
    [({"roles": "clerk"}, "roles"), ({"roles": [1, 2]}, "roles"), ({"sub": ""}, "sub"), ({"sub": 42}, None)],
)
def test_malformed_claims_are_refused(
    idp: LocalIdentityProvider, verifier: StaffTokenVerifier, extra: dict[str, object], field: str
) -> None:
    with pytest.raises(Unauthenticated) as raised:
        verifier.actor(idp.token(CLERK, 300, extra=extra), caller="c", request_id="r")
    assert (raised.value.code, raised.value.field) == ("TOKEN_INVALID", field)
