"""The acting staff member's identity: a short-lived ES256 token from the municipality's IdP.

Public keys come from configuration (a JWKS document); verifying makes no network call.
The token must name the staff member (``sub``), their roles, office and terminal.
"""

from __future__ import annotations

import json
from typing import Any

import jwt
from jwt.algorithms import ECAlgorithm

from juki.domain.errors import Unauthenticated
from juki.domain.staff import Actor, Role

ALGORITHM = "ES256"
LEEWAY_SECONDS = 30


class StaffTokenVerifier:
    def __init__(self, jwks_json: str, issuer: str, audience: str, max_lifetime_seconds: int) -> None:
        keys = json.loads(jwks_json)["keys"] if jwks_json else []
        self._keys: dict[str, Any] = {key["kid"]: ECAlgorithm.from_jwk(json.dumps(key)) for key in keys}
        self._issuer = issuer
        self._audience = audience
        self._max_lifetime = max_lifetime_seconds

    def actor(self, token: str | None, *, caller: str, request_id: str) -> Actor:
        if not token:
            raise Unauthenticated("TOKEN_MISSING", "職員の認証トークンがありません", "X-Juki-Staff-Token")
        claims = self._claims(token)
        subject, roles = claims.get("sub"), claims.get("roles", [])
        if not isinstance(subject, str) or not subject.strip():
            raise Unauthenticated("TOKEN_INVALID", "トークンに職員IDがありません", "sub")
        if not isinstance(roles, list) or not all(isinstance(role, str) for role in roles):
            raise Unauthenticated("TOKEN_INVALID", "トークンの役割の形式が正しくありません", "roles")
        for claim in ("office", "terminal"):
            if not isinstance(claims.get(claim), str) or not claims[claim]:
                raise Unauthenticated(
                    f"TOKEN_{claim.upper()}_MISSING", "トークンに庁舎または端末の情報がありません", claim
                )
        return Actor(
            staff_id=subject,
            roles=frozenset(Role(role) for role in roles if role in Role.__members__.values()),
            office=claims["office"],
            terminal=claims["terminal"],
            caller=caller,
            request_id=request_id,
        )

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
