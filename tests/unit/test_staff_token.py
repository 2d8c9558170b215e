"""Every way a staff token can be wrong is refused with its own code."""

import time

import pytest
from juki.adapters.staff_token import StaffClaims, StaffTokenVerifier, unverified_subject
from juki.domain.errors import Unauthenticated
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
        verifier.claims(token)
    return raised.value.code


def test_a_good_token_names_who_signs_in_and_from_where(
    idp: LocalIdentityProvider, verifier: StaffTokenVerifier
) -> None:
    assert verifier.claims(idp.token(CLERK, 600)) == StaffClaims("S1001", "葵区役所", "AOI-COUNTER-01")


def test_the_subject_of_a_refused_token_is_kept_plain_for_the_log(idp: LocalIdentityProvider) -> None:
    assert unverified_subject(idp.token(CLERK, 600, extra={"sub": "S1001<script>\n"})) == "S1001script"
    assert unverified_subject("not.a.jwt") is None
    assert unverified_subject(None) is None


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


@pytest.mark.parametrize(("extra", "field"), [({"sub": ""}, "sub"), ({"sub": 42}, None)])
def test_malformed_claims_are_refused(
    idp: LocalIdentityProvider, verifier: StaffTokenVerifier, extra: dict[str, object], field: str
) -> None:
    with pytest.raises(Unauthenticated) as raised:
        verifier.claims(idp.token(CLERK, 300, extra=extra))
    assert (raised.value.code, raised.value.field) == ("TOKEN_INVALID", field)
