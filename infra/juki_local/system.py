"""The whole local system: emulator, resources, demo municipality, staff tokens and the API.

Used by ``make run`` (``python -m juki_local``), the end-to-end tests and the benchmarks, so
all three exercise the same assembly.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta
from types import TracebackType

from juki import bootstrap
from juki.adapters.settings import (
    ENV_APPROVAL_WAIT,
    ENV_KIOSK_CALLERS,
    ENV_LINKAGE_FIRST_BACKOFF,
    ENV_MAYOR,
    ENV_MUNICIPALITY_NAME,
    ENV_PEER_CS_URL,
    ENV_PEER_INTERMEDIATE_URL,
    ENV_PEER_PLATFORM_URL,
    ENV_PEER_TIMEOUT,
    ENV_TOKEN_MAX_LIFETIME,
)
from juki.domain.linkage import identity_data
from juki.domain.records import PersonRecord
from juki.domain.staff import Role
from juki.domain.staff_registry import NewStaffUser
from juki_infra.description import (
    ENV_TOKEN_AUDIENCE,
    ENV_TOKEN_ISSUER,
    ENV_TOKEN_PUBLIC_KEYS,
    SystemDescription,
    describe,
)

from juki_local import cs_simulator, demo_data, demo_loader
from juki_local.emulator import ACCOUNT, Emulator, Provisioned, provision
from juki_local.gateway import LocalApiGateway
from juki_local.lambda_runtime import resolve_handler
from juki_local.scheduler import Scheduler
from juki_local.sigv4 import CallerCredential
from juki_local.tokens import DEMO_STAFF, DemoStaff, LocalIdentityProvider
from simulators import PeerSimulators

SHIZUOKA_CITY = "221007"
DEMO_TOKEN_LIFETIME_SECONDS = 12 * 3600  # a working day; deployments keep the 15-minute default

COUNTER_SYSTEM = CallerCredential(
    access_key_id="AKIAJUKILOCALCOUNTER",
    secret_access_key="local-demo-secret-for-the-counter-system",  # noqa: S106 - local demo only
    caller_arn=f"arn:aws:iam::{ACCOUNT}:role/juki-counter-terminal-system",
    name="窓口端末システム (demo)",
)


KIOSK_SYSTEM = CallerCredential(
    access_key_id="AKIAJUKILOCALKIOSK01",
    secret_access_key="local-demo-secret-for-the-certificate-kiosk",  # noqa: S106 - local demo only
    caller_arn=f"arn:aws:iam::{ACCOUNT}:role/juki-certificate-kiosk-system",
    name="証明発行システム (demo)",
)
DEMO_MUNICIPALITY_NAME = "静岡市"
DEMO_MAYOR = "静岡市長　駿府 太郎"  # a made-up name: the demo's certificates certify nothing


@dataclass
class LocalOptions:
    api_port: int = 8080
    moto_port: int = 0
    residents: int = 1000
    seed: int = 221007
    municipality_code: str = SHIZUOKA_CITY
    approval_wait_seconds: float = 20.0
    resident_code_pool: int = 2000  # 住民票コード the CS designates at start
    # The scheduled jobs run on their schedules (make run); the tests start them when they need them.
    scheduler: bool = False
    linkage_first_backoff_seconds: float = 30.0  # the tests shorten it to see retries at once
    callers: tuple[CallerCredential, ...] = field(default=(COUNTER_SYSTEM, KIOSK_SYSTEM))


class LocalSystem:
    def __init__(self, options: LocalOptions | None = None) -> None:
        self.options = options or LocalOptions()
        self.description: SystemDescription = describe(self.options.municipality_code)
        self.emulator = Emulator(port=self.options.moto_port)
        self.idp = LocalIdentityProvider()
        self.resources = Provisioned()
        self.gateway: LocalApiGateway | None = None
        self.peers = PeerSimulators(seed=self.options.seed)  # the CS and the 共通基盤 (simulators/)
        self.scheduler: Scheduler | None = None
        self.loaded = (0, 0)

    def start(self) -> LocalSystem:
        self.emulator.start()
        self.peers.start()
        token_settings = {
            ENV_TOKEN_ISSUER: self.idp.issuer,
            ENV_TOKEN_AUDIENCE: self.idp.audience,
            ENV_TOKEN_PUBLIC_KEYS: self.idp.jwks(),
            ENV_TOKEN_MAX_LIFETIME: str(DEMO_TOKEN_LIFETIME_SECONDS),
            ENV_APPROVAL_WAIT: str(self.options.approval_wait_seconds),
            ENV_KIOSK_CALLERS: KIOSK_SYSTEM.caller_arn,
            ENV_MUNICIPALITY_NAME: DEMO_MUNICIPALITY_NAME,
            ENV_MAYOR: DEMO_MAYOR,
            ENV_PEER_CS_URL: self.peers.cs_url,
            ENV_PEER_PLATFORM_URL: self.peers.platform_url,
            ENV_PEER_INTERMEDIATE_URL: self.peers.intermediate_url,
            ENV_PEER_TIMEOUT: "2",
            ENV_LINKAGE_FIRST_BACKOFF: str(self.options.linkage_first_backoff_seconds),
        }
        self.resources = provision(self.emulator, self.description, token_settings)
        self.peers.connect(self.emulator.client("s3"), self.resources.buckets["exchange"])
        bootstrap.services.cache_clear()  # a new emulator: build the services from the new environment
        services = bootstrap.services()
        if self.options.residents:
            households = demo_data.generate(residents=self.options.residents, seed=self.options.seed)
            self.loaded = demo_loader.load(services.store, households, mirror=self._mirror_to_cs)
        designated = cs_simulator.designated_codes(self.options.resident_code_pool, self.options.seed)
        cs_simulator.supply_pool(services.resident_codes, designated)
        self.peers.cs.reserve_codes(designated)
        self.register_staff(*DEMO_STAFF)
        api = self.description.function("api")
        self.gateway = LocalApiGateway(
            resolve_handler(api.handler),
            {caller.access_key_id: caller for caller in self.options.callers},
            function_name=self.description.name(api.id),
            function_arn=self.resources.functions[api.id],
            timeout_seconds=api.timeout_seconds,
            port=self.options.api_port,
            region=self.emulator.region,
            openapi=_openapi,
            title="Juki 住民記録システム API (local)",
        )
        self.gateway.start()
        if self.options.scheduler:
            self.scheduler = Scheduler(
                self.description, self.emulator.client("stepfunctions"), self.resources.state_machines
            )
            self.scheduler.start()
        return self

    def _mirror_to_cs(self, persons: list[PersonRecord]) -> None:
        """The CS holds the identity records of everyone migrated (the demo has no 個人番号)."""
        self.peers.cs.load_records(identity_data(p, DEMO_MUNICIPALITY_NAME, None) for p in persons)

    def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.stop()
        if self.gateway is not None:
            self.gateway.stop()
        self.peers.stop()
        self.emulator.stop()
        bootstrap.services.cache_clear()

    @property
    def api_url(self) -> str:
        assert self.gateway is not None
        return self.gateway.url

    def token(self, staff: DemoStaff, lifetime_seconds: int = DEMO_TOKEN_LIFETIME_SECONDS) -> str:
        return self.idp.token(staff, lifetime_seconds)

    def register_staff(self, *staff: DemoStaff) -> None:
        """Registers staff accounts (those already registered are left as they are)."""
        bootstrap.services().staff.register_bootstrap(staff_accounts(staff), by="local-demo")

    def demo_tokens(self) -> dict[str, str]:
        return {staff.role: self.token(staff) for staff in DEMO_STAFF}

    def __enter__(self) -> LocalSystem:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()


def staff_accounts(staff: tuple[DemoStaff, ...]) -> list[NewStaffUser]:
    """Demo staff as accounts of the staff register (a contractor's valid for one year)."""
    return [
        NewStaffUser(
            staff_id=member.staff_id,
            name=member.name,
            employee_number=f"E{member.staff_id}",
            roles=[Role(role) for role in member.roles],
            offices=[member.office],
            contractor=member.contractor,
            valid_until=date.today() + timedelta(days=365) if member.contractor else None,
        )
        for member in staff
    ]


def _openapi() -> dict[str, object]:
    from juki_fn.api import openapi_schema  # noqa: PLC0415 - the handler module loads on first use

    return openapi_schema()
