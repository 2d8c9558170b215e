"""SigV4 verification against requests signed by botocore, as the front-end systems sign them."""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta

import pytest
from juki_local.sigv4 import (
    CallerCredential,
    SignatureError,
    canonical_query_string,
    sign_headers,
    verify_sigv4,
)

REGION = "ap-northeast-1"
HOST = "api.juki.local:8080"
COUNTER = CallerCredential(
    access_key_id="AKIDCOUNTERTERMINAL",
    secret_access_key="counter-secret/with+chars",
    caller_arn="arn:aws:iam::000000000000:role/juki-counter-terminal",
    name="窓口端末システム",
)
CERTIFICATES = CallerCredential(
    access_key_id="AKIDCERTIFICATES",
    secret_access_key="certificates-secret",
    caller_arn="arn:aws:iam::000000000000:role/juki-certificates",
    name="証明発行システム",
)
CREDENTIALS = {credential.access_key_id: credential for credential in (COUNTER, CERTIFICATES)}


def _signed(
    method: str,
    url: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    credential: CallerCredential = COUNTER,
    region: str = REGION,
    service: str = "execute-api",
) -> dict[str, str]:
    return sign_headers(method, url, headers or {}, body, credential, region, service)


def _verify(
    method: str, url: str, headers: dict[str, str], body: bytes = b"", now: datetime | None = None
) -> CallerCredential:
    return verify_sigv4(method, url, headers, body, CREDENTIALS, region=REGION, now=now)


def _code(
    method: str, url: str, headers: dict[str, str], body: bytes = b"", now: datetime | None = None
) -> str:
    with pytest.raises(SignatureError) as caught:
        _verify(method, url, headers, body, now)
    assert caught.value.message
    return caught.value.code


def test_get_with_query_round_trips() -> None:
    url = f"http://{HOST}/residents?name=%E5%B1%B1%E7%94%B0&birth_date=1980-01-02&limit=20"
    headers = _signed("GET", url)
    assert headers["Authorization"].startswith("AWS4-HMAC-SHA256 Credential=AKIDCOUNTERTERMINAL/")
    assert _verify("GET", url, headers) == COUNTER


def test_query_order_and_encoding_do_not_matter() -> None:
    headers = _signed("GET", f"http://{HOST}/residents?b=2&a=%E5%B1%B1")
    assert _verify("GET", f"http://{HOST}/residents?a=%e5%b1%b1&b=2", headers) == COUNTER


def test_post_with_japanese_json_body_round_trips() -> None:
    url = f"http://{HOST}/movements"
    movement = {"kind": "転居", "address": {"town": "呉服町一丁目", "lot": "5番1号"}}
    payload = json.dumps(movement, ensure_ascii=False).encode("utf-8")
    headers = _signed("POST", url, payload, {"Content-Type": "application/json; charset=utf-8"})
    assert _verify("POST", url, headers, payload) == COUNTER


def test_path_with_percent_encoded_characters_round_trips() -> None:
    url = f"http://{HOST}/households/%E9%9D%99%E5%B2%A1%20%E5%B8%82/members"
    headers = _signed("GET", url, credential=CERTIFICATES)
    assert _verify("GET", url, headers) == CERTIFICATES


def test_non_ascii_path_is_signed_as_sent_on_the_wire() -> None:
    headers = _signed("GET", f"http://{HOST}/towns/呉服町")
    assert _verify("GET", f"http://{HOST}/towns/%E5%91%89%E6%9C%8D%E7%94%BA", headers) == COUNTER


def test_header_case_and_whitespace_are_canonicalised() -> None:
    url = f"http://{HOST}/residents"
    headers = _signed("GET", url, headers={"X-Juki-Staff": "staff  0001"})
    received = {name.upper(): f"  {value}  " for name, value in headers.items()}
    assert _verify("GET", url, received) == COUNTER


def test_content_sha256_header_is_checked_against_the_body() -> None:
    url = f"http://{HOST}/movements"
    headers = _signed("POST", url, b"{}", {"X-Amz-Content-Sha256": _sha256(b"{}")})
    assert _verify("POST", url, headers, b"{}") == COUNTER
    assert _code("POST", url, headers, b"{ }") == "SIGNATURE_MISMATCH"


def test_tampered_body_is_rejected() -> None:
    url = f"http://{HOST}/movements"
    headers = _signed("POST", url, '{"kind": "転居"}'.encode())
    assert _code("POST", url, headers, '{"kind": "転出"}'.encode()) == "SIGNATURE_MISMATCH"


def test_tampered_path_is_rejected() -> None:
    headers = _signed("GET", f"http://{HOST}/residents/100001")
    assert _code("GET", f"http://{HOST}/residents/100002", headers) == "SIGNATURE_MISMATCH"


def test_tampered_query_is_rejected() -> None:
    headers = _signed("GET", f"http://{HOST}/residents?limit=20")
    assert _code("GET", f"http://{HOST}/residents?limit=2000", headers) == "SIGNATURE_MISMATCH"


def test_tampered_signed_header_is_rejected() -> None:
    url = f"http://{HOST}/residents"
    headers = _signed("GET", url, headers={"X-Juki-Staff": "staff-0001"})
    headers["X-Juki-Staff"] = "staff-0002"
    assert _code("GET", url, headers) == "SIGNATURE_MISMATCH"


def test_other_method_is_rejected() -> None:
    url = f"http://{HOST}/residents/100001"
    assert _code("DELETE", url, _signed("GET", url)) == "SIGNATURE_MISMATCH"


def test_wrong_secret_is_rejected() -> None:
    url = f"http://{HOST}/residents"
    forged = CallerCredential(COUNTER.access_key_id, "guessed", COUNTER.caller_arn, COUNTER.name)
    assert _code("GET", url, _signed("GET", url, credential=forged)) == "SIGNATURE_MISMATCH"


def test_missing_authorization_is_rejected() -> None:
    assert _code("GET", f"http://{HOST}/residents", {"Host": HOST}) == "SIGNATURE_MISSING"


@pytest.mark.parametrize(
    "authorization",
    [
        "Bearer abc",
        "AWS4-HMAC-SHA256 Credential=AKIDCOUNTERTERMINAL/20240101/ap-northeast-1/execute-api/aws4_request",
        "AWS4-HMAC-SHA256 Credential=AKID/2024/ap-northeast-1/execute-api/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=" + "0" * 64,
        "AWS4-HMAC-SHA256 Credential=AKIDCOUNTERTERMINAL/20240101/ap-northeast-1/execute-api/aws4_request, "
        "SignedHeaders=x-amz-date;host, Signature=" + "0" * 64,
        "AWS4-HMAC-SHA256 Credential=AKIDCOUNTERTERMINAL/20240101/ap-northeast-1/execute-api/aws4_request, "
        "SignedHeaders=host;x-amz-date, Signature=xyz",
    ],
)
def test_malformed_authorization_is_rejected(authorization: str) -> None:
    headers = {"Host": HOST, "X-Amz-Date": "20240101T000000Z", "Authorization": authorization}
    assert _code("GET", f"http://{HOST}/", headers) == "SIGNATURE_MALFORMED"


def test_signed_header_missing_from_the_request_is_malformed() -> None:
    url = f"http://{HOST}/residents"
    headers = _signed("GET", url, headers={"X-Juki-Staff": "staff-0001"})
    del headers["X-Juki-Staff"]
    assert _code("GET", url, headers) == "SIGNATURE_MALFORMED"


def test_unknown_access_key_is_rejected() -> None:
    url = f"http://{HOST}/residents"
    stranger = CallerCredential("AKIDSTRANGER", "secret", "arn:aws:iam::000000000000:role/x", "不明")
    assert _code("GET", url, _signed("GET", url, credential=stranger)) == "UNKNOWN_ACCESS_KEY"


def test_old_signature_is_rejected() -> None:
    url = f"http://{HOST}/residents"
    headers = _signed("GET", url)
    later = datetime.now(UTC) + timedelta(minutes=6)
    assert _code("GET", url, headers, now=later) == "SIGNATURE_EXPIRED"
    assert _verify("GET", url, headers, now=datetime.now(UTC) + timedelta(minutes=4)) == COUNTER


def test_signature_from_the_future_is_rejected() -> None:
    url = f"http://{HOST}/residents"
    earlier = datetime.now(UTC) - timedelta(minutes=6)
    assert _code("GET", url, _signed("GET", url), now=earlier) == "SIGNATURE_EXPIRED"


def test_wrong_region_is_rejected() -> None:
    url = f"http://{HOST}/residents"
    assert _code("GET", url, _signed("GET", url, region="ap-northeast-3")) == "WRONG_SERVICE_OR_REGION"


def test_wrong_service_is_rejected() -> None:
    url = f"http://{HOST}/residents"
    assert _code("GET", url, _signed("GET", url, service="lambda")) == "WRONG_SERVICE_OR_REGION"


def test_canonical_query_string_sorts_and_encodes() -> None:
    assert canonical_query_string("b=2&a=%e5%b1%b1&c&a=1&d=x y") == "a=%E5%B1%B1&a=1&b=2&c=&d=x%20y"


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
