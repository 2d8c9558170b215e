"""A stand-in for the municipality's identity provider: signs short-lived ES256 staff tokens.

The deployed system only ever holds the IdP's public keys (a JWKS document in its
configuration). Locally, a fresh key pair is made at each start.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass

import jwt
from cryptography.hazmat.primitives.asymmetric import ec
from jwt.algorithms import ECAlgorithm

ISSUER = "https://idp.local.juki.invalid"
AUDIENCE = "juki-api"


@dataclass(frozen=True)
class DemoStaff:
    staff_id: str
    name: str
    roles: tuple[str, ...]
    office: str
    terminal: str
    contractor: str | None = None  # the company, for a contractor's account

    @property
    def role(self) -> str:
        return self.roles[0]


# One demo account per role. The local system registers them in the staff register at start;
# tokens only say who signs in and from where.
DEMO_STAFF = (
    DemoStaff("S1001", "窓口 一郎", ("clerk",), "葵区役所", "AOI-COUNTER-01"),
    DemoStaff("S2001", "審査 花子", ("approver",), "葵区役所", "AOI-REVIEW-01"),
    DemoStaff("S3001", "照会 次郎", ("viewer",), "駿河区役所", "SURUGA-INQ-01"),
    DemoStaff("S4001", "支援 四郎", ("restriction_officer",), "葵区役所", "AOI-SUPPORT-01"),
    DemoStaff("S5001", "監査 五月", ("auditor",), "静岡市役所", "CITY-AUDIT-01"),
    DemoStaff("S6001", "開示 三郎", ("privacy_officer",), "静岡市役所", "CITY-PRIVACY-01"),
    DemoStaff("S7001", "管理 七海", ("staff_admin",), "静岡市役所", "CITY-ADMIN-01"),
    DemoStaff("C8001", "運用 八郎", ("contractor",), "静岡市役所", "OPS-01", contractor="デモ運用株式会社"),
)
DEMO_BY_ROLE = {staff.role: staff for staff in DEMO_STAFF}


class LocalIdentityProvider:
    def __init__(self, issuer: str = ISSUER, audience: str = AUDIENCE) -> None:
        self.issuer = issuer
        self.audience = audience
        self._key = ec.generate_private_key(ec.SECP256R1())
        self.kid = uuid.uuid4().hex[:16]

    def jwks(self) -> str:
        public = json.loads(ECAlgorithm.to_jwk(self._key.public_key()))
        return json.dumps({"keys": [{**public, "kid": self.kid, "alg": "ES256", "use": "sig"}]})

    def token(
        self,
        staff: DemoStaff,
        lifetime_seconds: int,
        *,
        issued_at: int | None = None,
        audience: str | None = None,
        extra: dict[str, object] | None = None,
    ) -> str:
        now = int(time.time()) if issued_at is None else issued_at
        claims: dict[str, object] = {
            "iss": self.issuer,
            "aud": audience or self.audience,
            "sub": staff.staff_id,
            "name": staff.name,
            "roles": list(staff.roles),
            "office": staff.office,
            "terminal": staff.terminal,
            "iat": now,
            "exp": now + lifetime_seconds,
            "jti": uuid.uuid4().hex,
        }
        claims.update(extra or {})
        return jwt.encode(claims, self._key, algorithm="ES256", headers={"kid": self.kid})
