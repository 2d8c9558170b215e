"""The local API gateway over real HTTP: signature check, proxy event v1, response translation."""

from __future__ import annotations

import base64
import http.client
import json
import shutil
import subprocess
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode

import pytest
import requests
from juki_local.gateway import MAX_BODY_BYTES, LocalApiGateway
from juki_local.sigv4 import CallerCredential, sign_headers

if TYPE_CHECKING:
    from collections.abc import Iterator

REGION = "ap-northeast-1"
FUNCTION_ARN = "arn:aws:lambda:ap-northeast-1:000000000000:function:juki-api"
COUNTER = CallerCredential(
    access_key_id="AKIDCOUNTERTERMINAL",
    secret_access_key="counter-secret",
    caller_arn="arn:aws:iam::000000000000:role/juki-counter-terminal",
    name="窓口端末システム",
)
CREDENTIALS = {COUNTER.access_key_id: COUNTER}
SPEC: dict[str, Any] = {
    "openapi": "3.1.0",
    "info": {"title": "住民記録 API", "version": "1.0.0"},
    "paths": {
        "/residents": {"get": {"summary": "住民を検索する", "responses": {"200": {"description": "一覧"}}}}
    },
}
SECRET_BODY = "身元を明かしてはならない本文"


class _Boom(RuntimeError):
    pass


def _handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Echo the event and the context, or misbehave on a few special paths."""
    path = event["path"]
    if path == "/boom":
        raise _Boom("the handler failed")
    if path == "/malformed":
        return {"statusCode": "OK", "body": 1}
    if path == "/slow":
        time.sleep(1.2)
    if path == "/binary":
        return {
            "statusCode": 201,
            "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"], "X-Multi": ["x", "y"]},
            "headers": {"Content-Type": "application/pdf", "X-Multi": "ignored", "X-Flag": True},
            "body": base64.b64encode(b"%PDF-\xff\x00").decode(),
            "isBase64Encoded": True,
        }
    echo = {
        "event": event,
        "context": {
            "function_name": context.function_name,
            "function_version": context.function_version,
            "invoked_function_arn": context.invoked_function_arn,
            "memory_limit_in_mb": context.memory_limit_in_mb,
            "aws_request_id": context.aws_request_id,
            "log_group_name": context.log_group_name,
            "remaining": context.get_remaining_time_in_millis(),
        },
    }
    return {
        "statusCode": 200,
        "headers": {"Content-Type": "application/json; charset=utf-8"},
        "body": json.dumps(echo, ensure_ascii=False),
    }


@pytest.fixture(scope="module")
def gateway() -> Iterator[LocalApiGateway]:
    with LocalApiGateway(
        _handler,
        CREDENTIALS,
        function_name="juki-api",
        function_arn=FUNCTION_ARN,
        port=0,
        openapi=lambda: SPEC,
        title="Juki API（ローカル）",
    ) as running:
        yield running


def _call(
    gateway: LocalApiGateway,
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    credential: CallerCredential = COUNTER,
) -> requests.Response:
    url = gateway.url + path
    signed = sign_headers(method, url, headers or {}, body, credential, REGION)
    return requests.request(method, url, headers=signed, data=body, timeout=10)


def _echo(response: requests.Response) -> tuple[dict[str, Any], dict[str, Any]]:
    assert response.status_code == 200, response.text
    payload = response.json()
    return payload["event"], payload["context"]


def test_unsigned_request_is_refused(gateway: LocalApiGateway) -> None:
    response = requests.get(f"{gateway.url}/residents", timeout=10)
    assert response.status_code == 403
    error = response.json()["error"]
    assert error["code"] == "SIGNATURE_MISSING"
    assert "認証" in error["message"]
    assert response.headers["x-amzn-ErrorType"] == "MissingAuthenticationTokenException"
    assert response.headers["x-amzn-RequestId"]


def test_request_signed_for_another_path_is_refused(gateway: LocalApiGateway) -> None:
    signed = sign_headers("GET", f"{gateway.url}/residents/1", {}, b"", COUNTER, REGION)
    response = requests.get(f"{gateway.url}/residents/2", headers=signed, timeout=10)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "SIGNATURE_MISMATCH"


def test_unknown_caller_is_refused(gateway: LocalApiGateway) -> None:
    stranger = CallerCredential("AKIDSTRANGER", "secret", "arn:aws:iam::000000000000:role/x", "不明")
    response = _call(gateway, "GET", "/residents", credential=stranger)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "UNKNOWN_ACCESS_KEY"


def test_get_becomes_a_proxy_event(gateway: LocalApiGateway) -> None:
    query = urlencode([("name", "山田 太郎"), ("ward", "葵区"), ("ward", "清水区")], quote_via=quote)
    response = _call(gateway, "GET", f"/residents/search?{query}", headers={"X-Juki-Staff": "staff-0001"})
    event, context = _echo(response)
    assert event["resource"] == "/{proxy+}"
    assert event["path"] == "/residents/search"
    assert event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"proxy": "residents/search"}
    assert event["stageVariables"] is None
    assert event["queryStringParameters"] == {"name": "山田 太郎", "ward": "清水区"}
    assert event["multiValueQueryStringParameters"] == {"name": ["山田 太郎"], "ward": ["葵区", "清水区"]}
    assert event["headers"]["X-Juki-Staff"] == "staff-0001"
    assert event["multiValueHeaders"]["X-Juki-Staff"] == ["staff-0001"]
    assert event["headers"]["x-amzn-vpce-id"] == "vpce-local"
    assert event["body"] is None
    assert event["isBase64Encoded"] is False
    request_context = event["requestContext"]
    assert request_context["accountId"] == "000000000000"
    assert request_context["apiId"] == "local"
    assert request_context["stage"] == "prod"
    assert request_context["path"] == "/prod/residents/search"
    assert request_context["resourcePath"] == "/{proxy+}"
    assert request_context["httpMethod"] == "GET"
    assert request_context["protocol"] == "HTTP/1.1"
    assert request_context["requestId"] == response.headers["x-amzn-RequestId"]
    assert abs(request_context["requestTimeEpoch"] - time.time() * 1000) < 60_000
    assert request_context["requestTime"].endswith(" +0000")
    identity = request_context["identity"]
    assert identity["userArn"] == COUNTER.caller_arn
    assert identity["accessKey"] == COUNTER.access_key_id
    assert identity["accountId"] == "000000000000"
    assert identity["sourceIp"] == "127.0.0.1"
    assert identity["vpceId"] == "vpce-local"
    assert identity["userAgent"].startswith("python-requests")
    assert context["function_name"] == "juki-api"
    assert context["function_version"] == "$LATEST"
    assert context["invoked_function_arn"] == FUNCTION_ARN
    assert context["log_group_name"] == "/aws/lambda/juki-api"
    assert 28_000 < context["remaining"] <= 29_000


def test_each_invocation_gets_its_own_request_ids(gateway: LocalApiGateway) -> None:
    first, first_context = _echo(_call(gateway, "GET", "/residents"))
    second, second_context = _echo(_call(gateway, "GET", "/residents"))
    assert first_context["aws_request_id"] != second_context["aws_request_id"]
    assert first["requestContext"]["requestId"] != second["requestContext"]["requestId"]


def test_root_path_has_no_proxy_parameter(gateway: LocalApiGateway) -> None:
    event, _ = _echo(_call(gateway, "GET", "/"))
    assert event["resource"] == "/"
    assert event["pathParameters"] is None
    assert event["queryStringParameters"] is None
    assert event["multiValueQueryStringParameters"] is None
    assert event["requestContext"]["path"] == "/prod/"


def test_percent_encoded_path_is_decoded_in_the_event(gateway: LocalApiGateway) -> None:
    event, _ = _echo(_call(gateway, "GET", "/towns/" + quote("呉服町 一丁目")))
    assert event["path"] == "/towns/呉服町 一丁目"
    assert event["pathParameters"] == {"proxy": "towns/呉服町 一丁目"}


def test_json_body_arrives_as_text(gateway: LocalApiGateway) -> None:
    address = {"town": "駿府町", "lot": "1番1号", "katagaki": "駿府ハイツ101号室"}
    movement = {"kind": "転居", "address": address}
    body = json.dumps(movement, ensure_ascii=False).encode()
    response = _call(gateway, "POST", "/movements", body, {"Content-Type": "application/json"})
    event, _ = _echo(response)
    assert event["httpMethod"] == "POST"
    assert event["isBase64Encoded"] is False
    assert json.loads(event["body"]) == movement


def test_binary_body_arrives_base64_encoded(gateway: LocalApiGateway) -> None:
    body = b"\x89PNG\r\n\x1a\n\xff\xfe"
    event, _ = _echo(_call(gateway, "PUT", "/scans/1", body, {"Content-Type": "image/png"}))
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == body


def test_response_headers_and_base64_body_are_translated(gateway: LocalApiGateway) -> None:
    response = _call(gateway, "GET", "/binary")
    assert response.status_code == 201
    assert response.content == b"%PDF-\xff\x00"
    assert response.headers["Content-Type"] == "application/pdf"
    assert response.headers["X-Multi"] == "x, y"
    assert response.headers["X-Flag"] == "true"
    assert response.raw.headers.get_all("Set-Cookie") == ["a=1", "b=2"]
    assert response.headers["x-amzn-RequestId"]


def test_failing_handler_gives_502_and_a_traceback_without_the_body(
    gateway: LocalApiGateway, capfd: pytest.CaptureFixture[str]
) -> None:
    response = _call(gateway, "POST", "/boom", SECRET_BODY.encode())
    assert response.status_code == 502
    assert response.json() == {"message": "Internal server error"}
    err = capfd.readouterr().err
    assert "Traceback" in err
    assert "the handler failed" in err
    assert SECRET_BODY not in err


def test_malformed_proxy_response_gives_502(gateway: LocalApiGateway) -> None:
    response = _call(gateway, "GET", "/malformed")
    assert response.status_code == 502
    assert response.json() == {"message": "Internal server error"}


def test_body_over_10_mb_is_refused(gateway: LocalApiGateway) -> None:
    connection = http.client.HTTPConnection(gateway.url.removeprefix("http://"), timeout=10)
    try:
        connection.putrequest("POST", "/movements")
        connection.putheader("Content-Length", str(MAX_BODY_BYTES + 1))
        connection.endheaders()
        response = connection.getresponse()
        assert response.status == 413
        assert json.loads(response.read())["error"]["code"] == "PAYLOAD_TOO_LARGE"
    finally:
        connection.close()


def test_openapi_and_docs_need_no_signature(gateway: LocalApiGateway) -> None:
    spec = requests.get(f"{gateway.url}/openapi.json", timeout=10)
    assert spec.status_code == 200
    assert spec.json() == SPEC
    docs = requests.get(f"{gateway.url}/docs", timeout=10)
    assert docs.status_code == 200
    assert docs.headers["Content-Type"].startswith("text/html")
    assert "住民を検索する" in docs.text
    assert "Juki API（ローカル）" in docs.text


def test_without_openapi_the_docs_path_is_just_another_signed_route() -> None:
    with LocalApiGateway(_handler, CREDENTIALS, function_name="f", function_arn=FUNCTION_ARN, port=0) as bare:
        assert requests.get(f"{bare.url}/docs", timeout=10).status_code == 403
        event, _ = _echo(_call(bare, "GET", "/docs"))
        assert event["path"] == "/docs"


def test_handler_over_its_timeout_gives_504() -> None:
    with LocalApiGateway(
        _handler, CREDENTIALS, function_name="f", function_arn=FUNCTION_ARN, port=0, timeout_seconds=1
    ) as impatient:
        response = _call(impatient, "GET", "/slow")
        assert response.status_code == 504
        assert response.json() == {"message": "Endpoint request timed out"}


def test_stop_closes_the_port() -> None:
    gateway = LocalApiGateway(_handler, CREDENTIALS, function_name="f", function_arn=FUNCTION_ARN, port=0)
    gateway.start()
    url = gateway.url
    assert requests.get(f"{url}/", timeout=10).status_code == 403
    gateway.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{url}/", timeout=2)


def _curl_supports_sigv4() -> bool:
    curl = shutil.which("curl")
    if curl is None:
        return False
    result = subprocess.run([curl, "--help", "all"], capture_output=True, text=True, check=False)
    return "--aws-sigv4" in result.stdout


@pytest.mark.skipif(not _curl_supports_sigv4(), reason="curl without --aws-sigv4")
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_curl_aws_sigv4_gets_through(gateway: LocalApiGateway, method: str) -> None:
    command = [
        "curl", "--silent", "--show-error", "--request", method,
        "--aws-sigv4", f"aws:amz:{REGION}:execute-api",
        "--user", f"{COUNTER.access_key_id}:{COUNTER.secret_access_key}",
        f"{gateway.url}/residents/search?limit=20",
    ]  # fmt: skip
    if method == "POST":
        command += ["--header", "Content-Type: application/json", "--data", '{"kind":"転居"}']
    result = subprocess.run(command, capture_output=True, text=True, check=True, timeout=30)
    payload = json.loads(result.stdout)
    assert "event" in payload, result.stdout
    event = payload["event"]
    assert event["httpMethod"] == method
    assert event["queryStringParameters"] == {"limit": "20"}
    assert event["requestContext"]["identity"]["userArn"] == COUNTER.caller_arn
    if method == "POST":
        assert json.loads(event["body"]) == {"kind": "転居"}
