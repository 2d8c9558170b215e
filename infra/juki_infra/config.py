"""Typed deployment configuration, read from CDK context (``-c key=value`` or cdk.json).

Nothing here calls AWS: the account comes from context or from ``CDK_DEFAULT_ACCOUNT`` (which the
CDK CLI sets), never from an STS call. Without an account the stacks stay account-agnostic.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any, Protocol

from aws_cdk import aws_logs as logs

PRIMARY_REGION = "ap-northeast-1"
BACKUP_COPY_REGION = "ap-northeast-3"


class ContextReader(Protocol):
    def try_get_context(self, key: str) -> Any: ...


def require_region(region: str, allowed: str, role: str) -> None:
    """Refuse any region but the one this stack may live in (Government Cloud: Tokyo and Osaka only)."""
    if region != allowed:
        raise ValueError(
            f"{role} スタックは {allowed} 以外のリージョンには配置できません"
            f" / the {role} stack may only be deployed to {allowed} (got {region!r});"
            f" allowed regions: primary {PRIMARY_REGION}, backup copy {BACKUP_COPY_REGION}"
        )


@dataclass(frozen=True)
class JukiConfig:
    municipality_code: str = "221007"
    account: str | None = None
    region: str = PRIMARY_REGION
    backup_region: str = BACKUP_COPY_REGION
    create_cloudtrail: bool = True
    create_guardduty: bool = True
    alarm_email: str | None = None
    # Public settings of the staff identity provider, not secrets (S105 misreads "token").
    staff_token_issuer: str = "https://staff-idp.juki.invalid"
    staff_token_audience: str = "juki-api"
    staff_token_public_keys: str = '{"keys": []}'
    api_allowed_principals: tuple[str, ...] = ()
    # The certificate-issuing system (コンビニ交付): its IAM role ARNs, and what certificates print.
    kiosk_caller_arns: tuple[str, ...] = ()
    municipality_name: str = "静岡市"
    mayor_title_and_name: str = "静岡市長"
    # The peers' base URLs over the Government Cloud's private connectivity (docs/linkage.md);
    # empty: not connected yet, and messages wait in the outbox (then park) rather than go anywhere.
    peer_cs_url: str = ""
    peer_platform_url: str = ""
    peer_intermediate_url: str = ""
    log_retention: logs.RetentionDays = logs.RetentionDays.TEN_YEARS
    pitr_recovery_period_days: int = 35
    backup_retention_days: int = 35
    api_throttle_rate_limit: int = 100
    api_throttle_burst_limit: int = 200
    reserved_concurrency: int | None = None
    vpc_cidr: str = "10.64.0.0/16"
    max_azs: int = 2

    def __post_init__(self) -> None:
        if not (self.municipality_code.isdigit() and len(self.municipality_code) == 6):
            raise ValueError(
                f"municipality_code must be the 6-digit 全国地方公共団体コード: {self.municipality_code!r}"
            )
        if not 1 <= self.pitr_recovery_period_days <= 35:
            raise ValueError("pitr_recovery_period_days must be between 1 and 35")
        try:
            jwks = json.loads(self.staff_token_public_keys)
        except json.JSONDecodeError as error:
            raise ValueError("staff_token_public_keys must be a JWKS JSON string") from error
        if not isinstance(jwks, dict) or not isinstance(jwks.get("keys"), list):
            raise ValueError('staff_token_public_keys must be a JWKS object: {"keys": [...]}')

    @classmethod
    def from_context(cls, node: ContextReader) -> JukiConfig:
        """Read every setting from CDK context, falling back to the defaults above."""
        defaults = cls()

        def text(key: str, default: str) -> str:
            value = node.try_get_context(key)
            return default if value is None else str(value)

        def optional_text(key: str, default: str | None) -> str | None:
            value = node.try_get_context(key)
            return default if value in (None, "") else str(value)

        def flag(key: str, default: bool) -> bool:
            value = node.try_get_context(key)
            if value is None:
                return default
            if isinstance(value, bool):
                return value
            return str(value).strip().lower() in {"1", "true", "yes", "on"}

        def number(key: str, default: int) -> int:
            value = node.try_get_context(key)
            return default if value is None else int(value)

        def optional_number(key: str, default: int | None) -> int | None:
            value = node.try_get_context(key)
            return default if value in (None, "") else int(value)

        def principals(key: str = "api_allowed_principals") -> tuple[str, ...]:
            value = node.try_get_context(key)
            if value in (None, ""):
                return tuple(getattr(defaults, key))
            if isinstance(value, str):
                value = json.loads(value) if value.startswith("[") else value.split(",")
            return tuple(str(item).strip() for item in value if str(item).strip())

        keys = node.try_get_context("staff_token_public_keys")
        return cls(
            municipality_code=text("municipality_code", defaults.municipality_code),
            account=optional_text("account", os.environ.get("CDK_DEFAULT_ACCOUNT")),
            region=text("region", defaults.region),
            backup_region=text("backup_region", defaults.backup_region),
            create_cloudtrail=flag("create_cloudtrail", defaults.create_cloudtrail),
            create_guardduty=flag("create_guardduty", defaults.create_guardduty),
            alarm_email=optional_text("alarm_email", defaults.alarm_email),
            staff_token_issuer=text("staff_token_issuer", defaults.staff_token_issuer),
            staff_token_audience=text("staff_token_audience", defaults.staff_token_audience),
            staff_token_public_keys=(
                defaults.staff_token_public_keys
                if keys is None
                else keys
                if isinstance(keys, str)
                else json.dumps(keys)
            ),
            api_allowed_principals=principals(),
            kiosk_caller_arns=principals("kiosk_caller_arns"),
            municipality_name=text("municipality_name", defaults.municipality_name),
            mayor_title_and_name=text("mayor_title_and_name", defaults.mayor_title_and_name),
            peer_cs_url=text("peer_cs_url", defaults.peer_cs_url),
            peer_platform_url=text("peer_platform_url", defaults.peer_platform_url),
            peer_intermediate_url=text("peer_intermediate_url", defaults.peer_intermediate_url),
            log_retention=logs.RetentionDays[text("log_retention", defaults.log_retention.name)],
            pitr_recovery_period_days=number("pitr_recovery_period_days", defaults.pitr_recovery_period_days),
            backup_retention_days=number("backup_retention_days", defaults.backup_retention_days),
            api_throttle_rate_limit=number("api_throttle_rate_limit", defaults.api_throttle_rate_limit),
            api_throttle_burst_limit=number("api_throttle_burst_limit", defaults.api_throttle_burst_limit),
            reserved_concurrency=optional_number("reserved_concurrency", defaults.reserved_concurrency),
            vpc_cidr=text("vpc_cidr", defaults.vpc_cidr),
            max_azs=number("max_azs", defaults.max_azs),
        )
