"""Settings read from the function's environment (set by the CDK app or the local system)."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

from juki.domain.retention import (
    DEFAULT_MOVE_OUT_CERTIFICATE_DAYS,
    DEFAULT_REMOVED_RECORD_ONLINE_YEARS,
    DEFAULT_SENDING_ADDRESS_DAYS,
    RetentionPolicy,
)

ENV_LEDGER_TABLE = "JUKI_LEDGER_TABLE"
ENV_OPLOG_TABLE = "JUKI_OPLOG_TABLE"
ENV_OUTBOX_TABLE = "JUKI_OUTBOX_TABLE"
ENV_MOVEMENT_STATE_MACHINE_ARN = "JUKI_MOVEMENT_STATE_MACHINE_ARN"
ENV_MUNICIPALITY_CODE = "JUKI_MUNICIPALITY_CODE"
ENV_TOKEN_ISSUER = "JUKI_STAFF_TOKEN_ISSUER"
ENV_TOKEN_AUDIENCE = "JUKI_STAFF_TOKEN_AUDIENCE"
ENV_TOKEN_PUBLIC_KEYS = "JUKI_STAFF_TOKEN_PUBLIC_KEYS"
ENV_TOKEN_MAX_LIFETIME = "JUKI_STAFF_TOKEN_MAX_LIFETIME_SECONDS"
ENV_APPROVAL_WAIT = "JUKI_APPROVAL_WAIT_SECONDS"
ENV_RESIDENT_CODE_LOW = "JUKI_RESIDENT_CODE_LOW_THRESHOLD"
ENV_PII_KEY_ARN = "JUKI_PII_KEY_ARN"
ENV_STAFF_TABLE = "JUKI_STAFF_TABLE"
ENV_KIOSK_CALLERS = "JUKI_KIOSK_CALLER_ARNS"  # the certificate-issuing system's IAM roles (comma-separated)
ENV_MUNICIPALITY_NAME = "JUKI_MUNICIPALITY_NAME"
ENV_SENDING_ADDRESS_DAYS = "JUKI_SENDING_ADDRESS_RETENTION_DAYS"
ENV_MOVE_OUT_CERTIFICATE_DAYS = "JUKI_MOVE_OUT_CERTIFICATE_DAYS"
ENV_REMOVED_RECORD_ONLINE_YEARS = "JUKI_REMOVED_RECORD_ONLINE_YEARS"
ENV_MAYOR = "JUKI_MAYOR_TITLE_AND_NAME"
ENV_DOCUMENTS_BUCKET = "JUKI_DOCUMENTS_BUCKET"
ENV_EXCHANGE_BUCKET = "JUKI_EXCHANGE_BUCKET"
ENV_AUDIT_ARCHIVE_BUCKET = "JUKI_AUDIT_ARCHIVE_BUCKET"
ENV_RECORDS_ARCHIVE_BUCKET = "JUKI_RECORDS_ARCHIVE_BUCKET"
ENV_OPLOG_RETENTION_DAYS = "JUKI_OPLOG_RETENTION_DAYS"
ENV_OPLOG_SEAL_STATE_MACHINE_ARN = "JUKI_OPLOG_SEAL_STATE_MACHINE_ARN"
ENV_OPLOG_VERIFY_STATE_MACHINE_ARN = "JUKI_OPLOG_VERIFY_STATE_MACHINE_ARN"
ENV_OPLOG_PURGE_STATE_MACHINE_ARN = "JUKI_OPLOG_PURGE_STATE_MACHINE_ARN"
ENV_UNUSUAL_ACCESS_STATE_MACHINE_ARN = "JUKI_UNUSUAL_ACCESS_STATE_MACHINE_ARN"
ENV_RETENTION_STATE_MACHINE_ARN = "JUKI_RETENTION_STATE_MACHINE_ARN"
ENV_LINKAGE_DISPATCH_STATE_MACHINE_ARN = "JUKI_LINKAGE_DISPATCH_STATE_MACHINE_ARN"
ENV_LINKAGE_RECEIVE_STATE_MACHINE_ARN = "JUKI_LINKAGE_RECEIVE_STATE_MACHINE_ARN"
ENV_CONSISTENCY_CHECK_STATE_MACHINE_ARN = "JUKI_CONSISTENCY_CHECK_STATE_MACHINE_ARN"
ENV_RESIDENT_CODE_TOPUP_STATE_MACHINE_ARN = "JUKI_RESIDENT_CODE_TOPUP_STATE_MACHINE_ARN"
ENV_PLATFORM_EXTRACT_STATE_MACHINE_ARN = "JUKI_PLATFORM_EXTRACT_STATE_MACHINE_ARN"
# The peers' base URLs (docs/linkage.md): reached over the Government Cloud's private connectivity.
ENV_PEER_CS_URL = "JUKI_PEER_CS_URL"  # 住基ネット 市町村CS
ENV_PEER_PLATFORM_URL = "JUKI_PEER_PLATFORM_URL"  # 共通基盤 (庁内連携)
ENV_PEER_INTERMEDIATE_URL = "JUKI_PEER_INTERMEDIATE_URL"  # 中間サーバー
ENV_PEER_TIMEOUT = "JUKI_PEER_TIMEOUT_SECONDS"
ENV_LINKAGE_FIRST_BACKOFF = "JUKI_LINKAGE_FIRST_BACKOFF_SECONDS"  # the wait after a first failed delivery

# The scheduled jobs an operator may start by hand: job id → the variable holding its ARN.
JOB_STATE_MACHINE_ENV = {
    "oplog-seal": ENV_OPLOG_SEAL_STATE_MACHINE_ARN,
    "oplog-verify": ENV_OPLOG_VERIFY_STATE_MACHINE_ARN,
    "oplog-purge": ENV_OPLOG_PURGE_STATE_MACHINE_ARN,
    "unusual-access": ENV_UNUSUAL_ACCESS_STATE_MACHINE_ARN,
    "retention": ENV_RETENTION_STATE_MACHINE_ARN,
    "linkage-dispatch": ENV_LINKAGE_DISPATCH_STATE_MACHINE_ARN,
    "linkage-receive": ENV_LINKAGE_RECEIVE_STATE_MACHINE_ARN,
    "consistency-check": ENV_CONSISTENCY_CHECK_STATE_MACHINE_ARN,
    "resident-code-topup": ENV_RESIDENT_CODE_TOPUP_STATE_MACHINE_ARN,
}

DEFAULT_TOKEN_MAX_LIFETIME_SECONDS = 900
DEFAULT_APPROVAL_WAIT_SECONDS = 20.0
DEFAULT_RESIDENT_CODE_LOW_THRESHOLD = 1000  # about six weeks of codes for a city of 690,000 (ADR 0007)
# The PIA leaves the log's period to the city ("定められた期間"): seven years unless configured.
DEFAULT_OPLOG_RETENTION_DAYS = 7 * 365 + 2
# 住民基本台帳法施行令第34条: a removed record (除票) is kept 150 years.
REMOVED_RECORD_RETENTION_DAYS = 150 * 365 + 37
DEFAULT_PEER_TIMEOUT_SECONDS = 10.0
DEFAULT_LINKAGE_FIRST_BACKOFF_SECONDS = 30.0


@dataclass(frozen=True)
class Settings:
    region: str
    municipality_code: str
    ledger_table: str
    oplog_table: str
    outbox_table: str
    movement_state_machine_arn: str | None
    token_issuer: str
    token_audience: str
    token_public_keys: str  # a JWKS document (JSON) of the identity provider's ES256 keys
    token_max_lifetime_seconds: int
    approval_wait_seconds: float
    resident_code_low_threshold: int
    pii_key_arn: str  # the customer-managed key that seals 個人番号 (Encryption SDK)
    staff_table: str
    documents_bucket: str
    exchange_bucket: str
    audit_archive_bucket: str
    records_archive_bucket: str
    oplog_retention_days: int
    retention: RetentionPolicy  # 送付先情報, 転出証明書情報 and removed records (juki.domain.retention)
    jobs: dict[str, str]  # scheduled job id → state machine ARN (those configured)
    platform_extract_arn: str  # the full-extract state machine (started on request, not scheduled)
    kiosk_callers: frozenset[str]  # caller ARNs of the certificate-issuing system (コンビニ交付)
    municipality_name: str  # printed on certificates (静岡市)
    mayor_title_and_name: str  # the certifier printed on certificates (静岡市長 …)
    peer_cs_url: str  # docs/linkage.md; empty: the CS is not connected (nothing is delivered)
    peer_platform_url: str
    peer_intermediate_url: str
    peer_timeout_seconds: float
    linkage_first_backoff_seconds: float
    endpoint_url: str | None  # only for the local emulator; None in AWS

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if env is None else env
        return cls(
            region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "ap-northeast-1",
            municipality_code=env.get(ENV_MUNICIPALITY_CODE, ""),
            ledger_table=env.get(ENV_LEDGER_TABLE, ""),
            oplog_table=env.get(ENV_OPLOG_TABLE, ""),
            outbox_table=env.get(ENV_OUTBOX_TABLE, ""),
            movement_state_machine_arn=env.get(ENV_MOVEMENT_STATE_MACHINE_ARN) or None,
            token_issuer=env.get(ENV_TOKEN_ISSUER, ""),
            token_audience=env.get(ENV_TOKEN_AUDIENCE, ""),
            token_public_keys=env.get(ENV_TOKEN_PUBLIC_KEYS, ""),
            token_max_lifetime_seconds=int(
                env.get(ENV_TOKEN_MAX_LIFETIME, DEFAULT_TOKEN_MAX_LIFETIME_SECONDS)
            ),
            approval_wait_seconds=float(env.get(ENV_APPROVAL_WAIT, DEFAULT_APPROVAL_WAIT_SECONDS)),
            pii_key_arn=env.get(ENV_PII_KEY_ARN, ""),
            staff_table=env.get(ENV_STAFF_TABLE, ""),
            documents_bucket=env.get(ENV_DOCUMENTS_BUCKET, ""),
            exchange_bucket=env.get(ENV_EXCHANGE_BUCKET, ""),
            audit_archive_bucket=env.get(ENV_AUDIT_ARCHIVE_BUCKET, ""),
            records_archive_bucket=env.get(ENV_RECORDS_ARCHIVE_BUCKET, ""),
            oplog_retention_days=int(env.get(ENV_OPLOG_RETENTION_DAYS, DEFAULT_OPLOG_RETENTION_DAYS)),
            retention=RetentionPolicy(
                sending_address_days=int(env.get(ENV_SENDING_ADDRESS_DAYS, DEFAULT_SENDING_ADDRESS_DAYS)),
                move_out_certificate_days=int(
                    env.get(ENV_MOVE_OUT_CERTIFICATE_DAYS, DEFAULT_MOVE_OUT_CERTIFICATE_DAYS)
                ),
                removed_record_online_years=int(
                    env.get(ENV_REMOVED_RECORD_ONLINE_YEARS, DEFAULT_REMOVED_RECORD_ONLINE_YEARS)
                ),
            ),
            jobs={job: env[name] for job, name in JOB_STATE_MACHINE_ENV.items() if env.get(name)},
            platform_extract_arn=env.get(ENV_PLATFORM_EXTRACT_STATE_MACHINE_ARN, ""),
            kiosk_callers=frozenset(
                arn.strip() for arn in env.get(ENV_KIOSK_CALLERS, "").split(",") if arn.strip()
            ),
            municipality_name=env.get(ENV_MUNICIPALITY_NAME, ""),
            mayor_title_and_name=env.get(ENV_MAYOR, ""),
            peer_cs_url=env.get(ENV_PEER_CS_URL, "").rstrip("/"),
            peer_platform_url=env.get(ENV_PEER_PLATFORM_URL, "").rstrip("/"),
            peer_intermediate_url=env.get(ENV_PEER_INTERMEDIATE_URL, "").rstrip("/"),
            peer_timeout_seconds=float(env.get(ENV_PEER_TIMEOUT, DEFAULT_PEER_TIMEOUT_SECONDS)),
            linkage_first_backoff_seconds=float(
                env.get(ENV_LINKAGE_FIRST_BACKOFF, DEFAULT_LINKAGE_FIRST_BACKOFF_SECONDS)
            ),
            resident_code_low_threshold=int(
                env.get(ENV_RESIDENT_CODE_LOW, DEFAULT_RESIDENT_CODE_LOW_THRESHOLD)
            ),
            endpoint_url=env.get("AWS_ENDPOINT_URL") or None,
        )
