"""AWS Signature Version 4 for the local API: verify it as API Gateway's IAM authorisation does, and sign.

The front-end systems call the private REST API with IAM authorisation, so every request carries a SigV4
`Authorization` header. The local gateway checks it against a fixed table of caller credentials and knows
from it which system is calling (its role ARN becomes `requestContext.identity.userArn`).

The canonical request follows botocore's `SigV4Auth` for non-S3 services: the canonical URI is the path as
sent on the wire (dot segments and repeated slashes removed) URI-encoded once more, the canonical query
string is every parameter decoded, re-encoded with only unreserved characters left bare, and sorted.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

if TYPE_CHECKING:
    from collections.abc import Mapping

ALGORITHM = "AWS4-HMAC-SHA256"
AMZ_DATE_FORMAT = "%Y%m%dT%H%M%SZ"
_SCOPE_TERMINATOR = "aws4_request"
_UNRESERVED = "-_.~"
# Characters a client leaves bare in a path on the wire: RFC 3986 pchar and '/', plus '%' of escapes.
_WIRE_PATH_SAFE = "/%!$&'()*+,;=:@" + _UNRESERVED

_MESSAGES: dict[str, str] = {
    "SIGNATURE_MISSING": "認証情報（AWS 署名バージョン 4 の Authorization ヘッダー）がありません。",
    "SIGNATURE_MALFORMED": "Authorization ヘッダーの形式が正しくありません。",
    "UNKNOWN_ACCESS_KEY": "アクセスキーが登録されていません。",
    "SIGNATURE_MISMATCH": "署名が一致しません。署名したリクエストと送信したリクエストが異なります。",
    "SIGNATURE_EXPIRED": "署名の日時が許容範囲外です。端末の時計を確認してください。",
    "WRONG_SERVICE_OR_REGION": "署名のリージョンまたはサービス名が正しくありません。",
}

_AUTH_PARAM = re.compile(r"\s*(Credential|SignedHeaders|Signature)=([^,\s]+)\s*")
_HEX_SIGNATURE = re.compile(r"[0-9a-f]{64}")


@dataclass(frozen=True)
class CallerCredential:
    """One calling system: its access key pair, the IAM principal it stands for, and a display name."""

    access_key_id: str
    secret_access_key: str
    caller_arn: str
    name: str


class SignatureError(Exception):
    """A request whose signature does not authenticate it; `code` is stable, `message` is Japanese."""

    def __init__(self, code: str, detail: str | None = None) -> None:
        self.code = code
        base = _MESSAGES[code]
        self.message = f"{base}（{detail}）" if detail else base
        super().__init__(f"{code}: {self.message}")


@dataclass(frozen=True)
class _Authorization:
    access_key_id: str
    date: str
    region: str
    service: str
    signed_headers: tuple[str, ...]
    signature: str

    @property
    def scope(self) -> str:
        return f"{self.date}/{self.region}/{self.service}/{_SCOPE_TERMINATOR}"


def verify_sigv4(
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    credentials: Mapping[str, CallerCredential],
    *,
    region: str,
    service: str = "execute-api",
    now: datetime | None = None,
    max_skew: timedelta = timedelta(minutes=5),
) -> CallerCredential:
    """Return the credential whose secret signed this request, or raise `SignatureError`.

    `url` is the URL as received (path and query still percent-encoded); `headers` are the request headers,
    any repeated header already joined with commas; `credentials` maps access key ids to callers.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    authorization = lowered.get("authorization")
    if not authorization:
        raise SignatureError("SIGNATURE_MISSING")
    auth = _parse_authorization(authorization)
    credential = credentials.get(auth.access_key_id)
    if credential is None:
        raise SignatureError("UNKNOWN_ACCESS_KEY")
    if auth.region != region or auth.service != service:
        raise SignatureError("WRONG_SERVICE_OR_REGION", f"期待値 {region}/{service}")
    if "host" not in auth.signed_headers:
        raise SignatureError("SIGNATURE_MALFORMED", "host ヘッダーが署名対象に含まれていません")
    missing = [name for name in auth.signed_headers if name not in lowered]
    if missing:
        raise SignatureError("SIGNATURE_MALFORMED", f"署名対象のヘッダー {', '.join(missing)} がありません")
    timestamp, amz_date = _request_time(lowered, auth)
    current = now or datetime.now(UTC)
    if abs(current - timestamp) > max_skew:
        raise SignatureError("SIGNATURE_EXPIRED")
    payload_hash = hashlib.sha256(body).hexdigest()
    declared_hash = lowered.get("x-amz-content-sha256")
    if declared_hash is not None and declared_hash.strip().lower() != payload_hash:
        raise SignatureError("SIGNATURE_MISMATCH", "本文のハッシュ値が一致しません")
    canonical = canonical_request(method, url, lowered, auth.signed_headers, declared_hash or payload_hash)
    expected = _signature(credential.secret_access_key, auth, amz_date, canonical)
    if not hmac.compare_digest(expected, auth.signature):
        raise SignatureError("SIGNATURE_MISMATCH")
    return credential


def canonical_request(
    method: str,
    url: str,
    lowered_headers: Mapping[str, str],
    signed_headers: tuple[str, ...],
    payload_hash: str,
) -> str:
    """The SigV4 canonical request for a received URL and its (lower-cased) headers."""
    parts = urlsplit(url)
    header_lines = "".join(f"{name}:{_trim(lowered_headers[name])}\n" for name in signed_headers)
    return "\n".join(
        [
            method.upper(),
            quote(_remove_dot_segments(parts.path), safe="/~"),
            canonical_query_string(parts.query),
            header_lines,
            ";".join(signed_headers),
            payload_hash,
        ]
    )


def canonical_query_string(query: str) -> str:
    """Every `name=value` decoded, re-encoded with only unreserved characters bare, sorted."""
    pairs = []
    for item in query.split("&"):
        if not item:
            continue
        name, _, value = item.partition("=")
        pairs.append((_encode_component(name), _encode_component(value)))
    return "&".join(f"{name}={value}" for name, value in sorted(pairs))


def sign_headers(  # noqa: PLR0917 -- positional order shared with the e2e client
    method: str,
    url: str,
    headers: Mapping[str, str],
    body: bytes,
    credential: CallerCredential,
    region: str,
    service: str = "execute-api",
) -> dict[str, str]:
    """The headers to send: `headers` plus `Host`, `X-Amz-Date` and `Authorization`, signed by botocore.

    Send the request to `url` exactly (an HTTP client such as requests percent-encodes non-ASCII characters
    the same way as this function does before signing).
    """
    wire_url = _wire_url(url)
    to_sign = dict(headers)
    if not any(name.lower() == "host" for name in to_sign):
        to_sign["Host"] = _host(wire_url)
    request = AWSRequest(method=method.upper(), url=wire_url, headers=to_sign, data=body)
    signer = SigV4Auth(Credentials(credential.access_key_id, credential.secret_access_key), service, region)
    signer.add_auth(request)
    return {name: str(value) for name, value in request.headers.items()}


def _parse_authorization(value: str) -> _Authorization:
    algorithm, _, rest = value.strip().partition(" ")
    if algorithm != ALGORITHM:
        raise SignatureError("SIGNATURE_MALFORMED", f"{ALGORITHM} 以外の方式です")
    params: dict[str, str] = {}
    for component in rest.split(","):
        match = _AUTH_PARAM.fullmatch(component)
        if match is None:
            raise SignatureError("SIGNATURE_MALFORMED")
        params[match.group(1)] = match.group(2)
    if params.keys() != {"Credential", "SignedHeaders", "Signature"}:
        raise SignatureError("SIGNATURE_MALFORMED", "Credential, SignedHeaders, Signature が必要です")
    scope = params["Credential"].split("/")
    if len(scope) != 5 or scope[4] != _SCOPE_TERMINATOR or not re.fullmatch(r"\d{8}", scope[1]):
        raise SignatureError("SIGNATURE_MALFORMED", "Credential の形式が正しくありません")
    signed_headers = tuple(params["SignedHeaders"].split(";"))
    if list(signed_headers) != sorted({name.lower() for name in signed_headers}):
        raise SignatureError("SIGNATURE_MALFORMED", "SignedHeaders は小文字で整列している必要があります")
    signature = params["Signature"].lower()
    if not _HEX_SIGNATURE.fullmatch(signature):
        raise SignatureError("SIGNATURE_MALFORMED", "Signature の形式が正しくありません")
    return _Authorization(scope[0], scope[1], scope[2], scope[3], signed_headers, signature)


def _request_time(lowered: Mapping[str, str], auth: _Authorization) -> tuple[datetime, str]:
    """The signed request time and its `YYYYMMDDTHHMMSSZ` form; from X-Amz-Date, else from Date."""
    if "x-amz-date" in auth.signed_headers:
        amz_date = lowered["x-amz-date"].strip()
        try:
            timestamp = datetime.strptime(amz_date, AMZ_DATE_FORMAT).replace(tzinfo=UTC)
        except ValueError:
            raise SignatureError("SIGNATURE_MALFORMED", "X-Amz-Date の形式が正しくありません") from None
    elif "date" in auth.signed_headers:
        try:
            timestamp = parsedate_to_datetime(lowered["date"]).astimezone(UTC)
        except (TypeError, ValueError):
            raise SignatureError("SIGNATURE_MALFORMED", "Date の形式が正しくありません") from None
        amz_date = timestamp.strftime(AMZ_DATE_FORMAT)
    else:
        raise SignatureError("SIGNATURE_MALFORMED", "X-Amz-Date ヘッダーが署名対象に含まれていません")
    if amz_date[:8] != auth.date:
        raise SignatureError("SIGNATURE_MALFORMED", "Credential の日付が要求日時と一致しません")
    return timestamp, amz_date


def _signature(secret: str, auth: _Authorization, amz_date: str, canonical: str) -> str:
    string_to_sign = "\n".join(
        [ALGORITHM, amz_date, auth.scope, hashlib.sha256(canonical.encode("utf-8")).hexdigest()]
    )
    key = f"AWS4{secret}".encode()
    for part in (auth.date, auth.region, auth.service, _SCOPE_TERMINATOR):
        key = hmac.new(key, part.encode("utf-8"), hashlib.sha256).digest()
    return hmac.new(key, string_to_sign.encode("utf-8"), hashlib.sha256).hexdigest()


def _trim(value: str) -> str:
    return " ".join(value.split())


def _encode_component(component: str) -> str:
    return quote(unquote(component), safe=_UNRESERVED)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 dot-segment removal that also collapses repeated slashes, as botocore does."""
    if not path:
        return "/"
    output: list[str] = []
    for segment in path.split("/"):
        if segment == "..":
            if output:
                output.pop()
        elif segment and segment != ".":
            output.append(segment)
    leading = "/" if path.startswith("/") else ""
    trailing = "/" if path.endswith("/") and output else ""
    return leading + "/".join(output) + trailing


def _wire_url(url: str) -> str:
    """The URL as an HTTP client sends it: non-ASCII in the path escaped, query in canonical encoding."""
    parts = urlsplit(url)
    path = quote(parts.path, safe=_WIRE_PATH_SAFE)
    return urlunsplit((parts.scheme, parts.netloc, path, canonical_query_string(parts.query), ""))


def _host(url: str) -> str:
    """The Host header an HTTP client sends for `url`: the default port for the scheme left out."""
    parts = urlsplit(url)
    default_port = {"http": 80, "https": 443}.get(parts.scheme)
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    return host if parts.port in {None, default_port} else f"{host}:{parts.port}"
