"""A local stand-in for the private REST API: API Gateway (IAM authorisation) in front of one Lambda.

Each request is checked for an AWS SigV4 signature from a known caller, turned into the REST API proxy
event (payload format 1.0) that API Gateway would send for the resource `/{proxy+}` with method ANY, and
handed to the Lambda handler in-process. The proxy response is turned back into HTTP the way API Gateway
does it, including its 502 for a failing or malformed handler and its 504 for one that runs too long.

Two conveniences are served without a signature: `GET /openapi.json` and `GET /docs` (an HTML reference).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.serving import WSGIRequestHandler, make_server
from werkzeug.wrappers import Request, Response

from juki_local import openapi_html
from juki_local.lambda_context import new_context
from juki_local.sigv4 import CallerCredential, SignatureError, verify_sigv4

if TYPE_CHECKING:
    from wsgiref.types import StartResponse, WSGIEnvironment

    from werkzeug.serving import BaseWSGIServer

LambdaHandler = Callable[[dict[str, Any], Any], dict[str, Any]]

ACCOUNT_ID = "000000000000"
MAX_BODY_BYTES = 10 * 1024 * 1024
PROXY_RESOURCE = "/{proxy+}"
VPCE_ID = "vpce-local"
VPC_ID = "vpc-local"
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")
_JSON = "application/json"
_INTERNAL_ERROR = {"message": "Internal server error"}
_TIMED_OUT = {"message": "Endpoint request timed out"}
# API Gateway's x-amzn-ErrorType for each signature failure.
_ERROR_TYPES = {
    "SIGNATURE_MISSING": "MissingAuthenticationTokenException",
    "SIGNATURE_MALFORMED": "IncompleteSignatureException",
    "UNKNOWN_ACCESS_KEY": "UnrecognizedClientException",
    "SIGNATURE_MISMATCH": "InvalidSignatureException",
    "SIGNATURE_EXPIRED": "InvalidSignatureException",
    "WRONG_SERVICE_OR_REGION": "InvalidSignatureException",
}

logger = logging.getLogger(__name__)


class _LimitedRequest(Request):
    max_content_length = MAX_BODY_BYTES


class _QuietRequestHandler(WSGIRequestHandler):
    """Werkzeug's access log prints query strings, which carry names and dates of birth: not here."""

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        return


class MalformedProxyResponseError(ValueError):
    """The handler returned something that is not a Lambda proxy integration response."""


class LocalApiGateway:
    """Serve one Lambda handler over HTTP with IAM (SigV4) authorisation, in a background thread."""

    def __init__(
        self,
        handler: LambdaHandler,
        credentials: Mapping[str, CallerCredential],
        *,
        function_name: str,
        function_arn: str,
        timeout_seconds: int = 29,
        host: str = "127.0.0.1",
        port: int = 8080,
        region: str = "ap-northeast-1",
        stage: str = "prod",
        openapi: Callable[[], dict[str, Any]] | None = None,
        title: str = "Juki API",
    ) -> None:
        self._handler = handler
        self._credentials = credentials
        self._function_name = function_name
        self._function_arn = function_arn
        self._timeout_seconds = timeout_seconds
        self._host = host
        self._port = port
        self._region = region
        self._stage = stage
        self._openapi = openapi
        self._title = title
        self._resource_ids = {
            resource: hashlib.sha256(f"{function_arn}{resource}".encode()).hexdigest()[:6]
            for resource in ("/", PROXY_RESOURCE)
        }
        self._server: BaseWSGIServer | None = None
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        """Start serving in a daemon thread; with port 0 the system picks a free port (see `url`)."""
        if self._server is not None:
            raise RuntimeError("the gateway is already running")
        server = make_server(
            self._host, self._port, self._wsgi_app, threaded=True, request_handler=_QuietRequestHandler
        )
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, name=f"gateway-{self._function_name}", daemon=True
        )
        self._thread.start()
        logger.info("local API gateway for %s listening on %s", self._function_name, self.url)

    def stop(self) -> None:
        """Stop accepting requests, close the socket and wait for the serving thread to end."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is not None:
            server.shutdown()
            server.server_close()
        if thread is not None:
            thread.join()

    def __enter__(self) -> LocalApiGateway:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        port = self._server.server_port if self._server is not None else self._port
        return f"http://{self._host}:{port}"

    def _wsgi_app(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        request = _LimitedRequest(environ)
        started = time.monotonic()
        request_id = str(uuid.uuid4())
        response, caller = self._respond(request, request_id)
        response.headers["x-amzn-RequestId"] = request_id
        logger.info(
            "%s %s -> %d caller=%s request_id=%s %.0fms",
            request.method,
            request.path,
            response.status_code,
            caller,
            request_id,
            (time.monotonic() - started) * 1000,
        )
        return response(environ, start_response)

    def _respond(self, request: Request, request_id: str) -> tuple[Response, str]:
        convenience = self._convenience(request)
        if convenience is not None:
            return convenience, "-"
        try:
            body = request.get_data(cache=True)
        except RequestEntityTooLarge:
            message = f"リクエスト本文が大きすぎます（上限 {MAX_BODY_BYTES // (1024 * 1024)} MB）。"
            return _error(413, "PAYLOAD_TOO_LARGE", message), "-"
        try:
            credential = verify_sigv4(
                request.method,
                _received_url(request),
                _joined_headers(request),
                body,
                self._credentials,
                region=self._region,
            )
        except SignatureError as exc:
            response = _error(403, exc.code, exc.message)
            response.headers["x-amzn-ErrorType"] = _ERROR_TYPES[exc.code]
            return response, "-"
        event = self._event(request, body, credential, request_id)
        return self._invoke(event, request_id), credential.name

    def _convenience(self, request: Request) -> Response | None:
        if self._openapi is None or request.method != "GET":
            return None
        if request.path == "/openapi.json":
            text = json.dumps(self._openapi(), ensure_ascii=False, indent=2)
            return Response(text, content_type=f"{_JSON}; charset=utf-8")
        if request.path == "/docs":
            page = openapi_html.render(self._openapi(), self._title)
            return Response(page, content_type="text/html; charset=utf-8")
        return None

    def _invoke(self, event: dict[str, Any], request_id: str) -> Response:
        context = new_context(self._function_name, self._function_arn, self._timeout_seconds)
        started = time.monotonic()
        try:
            result = self._handler(event, context)
        except Exception:
            print(f"[gateway] request {request_id}: the handler raised", file=sys.stderr)
            traceback.print_exc(file=sys.stderr)
            return _json_response(502, _INTERNAL_ERROR)
        if time.monotonic() - started > self._timeout_seconds:
            print(f"[gateway] request {request_id}: the handler exceeded its timeout", file=sys.stderr)
            return _json_response(504, _TIMED_OUT)
        try:
            return proxy_response(result)
        except MalformedProxyResponseError as exc:
            print(f"[gateway] request {request_id}: malformed Lambda proxy response: {exc}", file=sys.stderr)
            return _json_response(502, _INTERNAL_ERROR)

    def _event(
        self, request: Request, body: bytes, credential: CallerCredential, request_id: str
    ) -> dict[str, Any]:
        path = request.path
        resource = "/" if path == "/" else PROXY_RESOURCE
        now = datetime.now(UTC)
        headers = dict(request.headers.items())
        headers.setdefault("X-Forwarded-For", request.remote_addr or "")
        headers.setdefault("x-amzn-vpce-id", VPCE_ID)
        multi_headers = {name: request.headers.getlist(name) for name in headers}
        multi_headers.setdefault("X-Forwarded-For", [headers["X-Forwarded-For"]])
        multi_headers.setdefault("x-amzn-vpce-id", [VPCE_ID])
        query = {name: values[-1] for name, values in request.args.lists()}
        multi_query = dict(request.args.lists())
        text_body, is_base64 = _event_body(body)
        host = request.host
        return {
            "resource": resource,
            "path": path,
            "httpMethod": request.method,
            "headers": headers,
            "multiValueHeaders": multi_headers,
            "queryStringParameters": query or None,
            "multiValueQueryStringParameters": multi_query or None,
            "pathParameters": None if resource == "/" else {"proxy": path.removeprefix("/")},
            "stageVariables": None,
            "requestContext": {
                "accountId": ACCOUNT_ID,
                "apiId": "local",
                "domainName": host,
                "domainPrefix": host.split(".", 1)[0],
                "extendedRequestId": base64.urlsafe_b64encode(uuid.uuid4().bytes[:12]).decode().rstrip("="),
                "httpMethod": request.method,
                "identity": _identity(request, credential),
                "path": f"/{self._stage}{path}",
                "protocol": request.environ.get("SERVER_PROTOCOL", "HTTP/1.1"),
                "requestId": request_id,
                "requestTime": _request_time(now),
                "requestTimeEpoch": int(now.timestamp() * 1000),
                "resourceId": self._resource_ids[resource],
                "resourcePath": resource,
                "stage": self._stage,
            },
            "body": text_body,
            "isBase64Encoded": is_base64,
        }


def proxy_response(result: object) -> Response:
    """Translate a Lambda proxy integration response into HTTP, as API Gateway does."""
    if not isinstance(result, dict):
        raise MalformedProxyResponseError("the result is not an object")
    status = result.get("statusCode")
    if not isinstance(status, int) or isinstance(status, bool) or not 100 <= status <= 599:
        raise MalformedProxyResponseError("statusCode must be an integer HTTP status")
    body = result.get("body")
    if body is not None and not isinstance(body, str):
        raise MalformedProxyResponseError("body must be a string")
    payload = b"" if body is None else body.encode("utf-8")
    if result.get("isBase64Encoded") and body:
        try:
            payload = base64.b64decode(body, validate=True)
        except binascii.Error as exc:
            raise MalformedProxyResponseError("body is not valid base64") from exc
    response = Response(payload, status=status)
    del response.headers["Content-Type"]
    multi = _mapping(result, "multiValueHeaders")
    for name, values in multi.items():
        if not isinstance(values, list):
            raise MalformedProxyResponseError(f"multiValueHeaders[{name!r}] must be a list")
        for value in values:
            response.headers.add(str(name), _header_text(value))
    for name, value in _mapping(result, "headers").items():
        if name not in multi:
            response.headers[str(name)] = _header_text(value)
    if "Content-Type" not in response.headers:
        response.headers["Content-Type"] = _JSON
    return response


def _mapping(result: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = result.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MalformedProxyResponseError(f"{key} must be an object")
    return value


def _header_text(value: object) -> str:
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def _event_body(body: bytes) -> tuple[str | None, bool]:
    if not body:
        return None, False
    try:
        return body.decode("utf-8"), False
    except UnicodeDecodeError:
        return base64.b64encode(body).decode("ascii"), True


def _identity(request: Request, credential: CallerCredential) -> dict[str, Any]:
    arn_parts = credential.caller_arn.split(":")
    principal = credential.caller_arn.rsplit("/", 1)[-1]
    return {
        "accessKey": credential.access_key_id,
        "accountId": arn_parts[4] if len(arn_parts) > 4 and arn_parts[4] else ACCOUNT_ID,
        "apiKey": None,
        "apiKeyId": None,
        "caller": principal,
        "clientCert": None,
        "cognitoAuthenticationProvider": None,
        "cognitoAuthenticationType": None,
        "cognitoIdentityId": None,
        "cognitoIdentityPoolId": None,
        "principalOrgId": None,
        "sourceIp": request.remote_addr,
        "user": principal,
        "userAgent": request.headers.get("User-Agent"),
        "userArn": credential.caller_arn,
        "vpceId": VPCE_ID,
        "vpcId": VPC_ID,
    }


def _request_time(now: datetime) -> str:
    """API Gateway's `requestTime`, e.g. `09/Apr/2015:12:34:56 +0000`, independent of the locale."""
    return f"{now:%d}/{_MONTHS[now.month - 1]}/{now:%Y:%H:%M:%S} +0000"


def _received_url(request: Request) -> str:
    """The URL as the client sent it, path and query still percent-encoded, for the signature check."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI")
    if raw and raw.startswith(("http://", "https://")):
        return str(raw)
    if not raw:
        raw = quote(request.path, safe="/%!$&'()*+,;=:@-_.~")
        query = request.query_string.decode("latin-1")
        raw = f"{raw}?{query}" if query else raw
    return f"{request.scheme}://{request.host}{raw}"


def _joined_headers(request: Request) -> dict[str, str]:
    """Request headers keyed by name, a repeated header's values joined with commas as SigV4 expects."""
    joined: dict[str, str] = {}
    for name, value in request.headers.items():
        key = name.lower()
        joined[key] = f"{joined[key]},{value}" if key in joined else value
    return joined


def _error(status: int, code: str, message: str) -> Response:
    return _json_response(status, {"error": {"code": code, "message": message}})


def _json_response(status: int, payload: Mapping[str, Any]) -> Response:
    return Response(
        json.dumps(payload, ensure_ascii=False), status=status, content_type=f"{_JSON}; charset=utf-8"
    )
