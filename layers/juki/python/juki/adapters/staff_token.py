"""The acting staff member's identity: a short-lived ES256 token from the municipality's IdP.

Public keys come from configuration (a JWKS document); verifying makes no network call.
The token must name the staff member (``sub``), the office and the terminal. What the member may do
is not taken from the token: the staff register decides (``juki.services.staff``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import jwt
from jwt.algorithms import ECAlgorithm

from juki.domain.errors import Unauthenticated

ALGORITHM = "ES256"
LEEWAY_SECONDS = 30


@dataclass(frozen=True)
class StaffClaims:
    """Who signs in, and from where, as the identity provider vouches."""

    staff_id: str
    office: str
    terminal: str


def unverified_subject(token: str | None) -> str | None:
    """The ``sub`` a refused token claims, for the log of refused sign-ins only: never trusted,
    and kept to a short, plain form (it is whatever the caller sent)."""
    if not token:
        return None
    try:
        subject = jwt.decode(token, options={"verify_signature": False}).get("sub")
    except jwt.PyJWTError:
        return None
    if not isinstance(subject, str):
        return None
    plain = "".join(c for c in subject[:32] if c.isascii() and (c.isalnum() or c in "-_.@"))
    return plain or None


class StaffTokenVerifier:
    def __init__(self, jwks_json: str, issuer: str, audience: str, max_lifetime_seconds: int) -> None:
        keys = json.loads(jwks_json)["keys"] if jwks_json else []
        self._keys: dict[str, Any] = {key["kid"]: ECAlgorithm.from_jwk(json.dumps(key)) for key in keys}
        self._issuer = issuer
        self._audience = audience
        self._max_lifetime = max_lifetime_seconds

    def claims(self, token: str | None) -> StaffClaims:
        if not token:
            raise Unauthenticated("TOKEN_MISSING", "職員の認証トークンがありません", "X-Juki-Staff-Token")
        claims = self._claims(token)
        subject = claims.get("sub")
        if not isinstance(subject, str) or not subject.strip():
            raise Unauthenticated("TOKEN_INVALID", "トークンに職員IDがありません", "sub")
        for claim in ("office", "terminal"):
            if not isinstance(claims.get(claim), str) or not claims[claim]:
                raise Unauthenticated(
                    f"TOKEN_{claim.upper()}_MISSING", "トークンに庁舎または端末の情報がありません", claim
                )
        return StaffClaims(staff_id=subject, office=claims["office"], terminal=claims["terminal"])

    def _claims(self, token: str) -> dict[str, Any]:
        try:
            kid = jwt.get_unverified_header(token).get("kid")
            key = self._keys.get(kid) if isinstance(kid, str) else None
            if key is None:
                raise Unauthenticated("TOKEN_UNKNOWN_KEY", "トークンの署名鍵が登録されていません")
            claims: dict[str, Any] = jwt.decode(
                token,
                key=key,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": ["exp", "iat", "sub", "iss", "aud"]},
            )
        except jwt.ExpiredSignatureError:
            raise Unauthenticated("TOKEN_EXPIRED", "トークンの有効期限が切れています") from None
        except jwt.InvalidAudienceError:
            raise Unauthenticated("TOKEN_WRONG_AUDIENCE", "トークンの宛先が違います") from None
        except jwt.InvalidIssuerError:
            raise Unauthenticated("TOKEN_WRONG_ISSUER", "トークンの発行者が違います") from None
        except jwt.InvalidSignatureError:
            raise Unauthenticated("TOKEN_BAD_SIGNATURE", "トークンの署名が正しくありません") from None
        except jwt.PyJWTError:
            raise Unauthenticated("TOKEN_INVALID", "トークンの形式が正しくありません") from None
        if int(claims["exp"]) - int(claims["iat"]) > self._max_lifetime:
            raise Unauthenticated("TOKEN_TOO_LONG_LIVED", "トークンの有効期間が長すぎます")
        return claims
