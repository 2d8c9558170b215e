"""The two stacks: the system in Tokyo, and the off-site backup copy vault in Osaka."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from aws_cdk import Environment, Stack

from juki_infra.config import BACKUP_COPY_REGION, PRIMARY_REGION, JukiConfig, require_region
from juki_infra.constructs.api import PrivateApi
from juki_infra.constructs.backup import Backup, BackupCopyVault
from juki_infra.constructs.data import DataStore
from juki_infra.constructs.functions import Functions
from juki_infra.constructs.monitoring import Monitoring
from juki_infra.constructs.network import Network
from juki_infra.constructs.workflows import Workflows
from juki_infra.description import SystemDescription, describe

if TYPE_CHECKING:
    from constructs import Construct

API_FUNCTION_ID = "api"


class JukiStack(Stack):
    """One municipality's system in ap-northeast-1: one construct per concern."""

    def __init__(self, scope: Construct, construct_id: str, *, config: JukiConfig, **kwargs: Any) -> None:
        require_region(config.region, PRIMARY_REGION, "primary")
        super().__init__(
            scope,
            construct_id,
            env=Environment(account=config.account, region=config.region),
            description=f"Juki (住民記録システム), municipality {config.municipality_code}",
            **kwargs,
        )
        self.config = config
        self.system: SystemDescription = describe(config.municipality_code)
        system = self.system
        self.data = DataStore(self, "Data", description=system, config=config)
        self.network = Network(self, "Network", config=config, data=self.data)
        self.functions = Functions(
            self, "Functions", description=system, config=config, data=self.data, network=self.network
        )
        # Task functions first, then the state machines that call them, then the functions that
        # start those state machines (they need the state machine ARNs). A task function that starts
        # another machine reaches it by its fixed name instead.
        tasks = {
            function_id for machine in system.state_machines for function_id in machine.functions.values()
        }
        for spec in system.functions:
            if not spec.starts_state_machines or spec.id in tasks:
                self.functions.add(spec, {})
        self.workflows = Workflows(
            self, "Workflows", description=system, data=self.data, functions=self.functions.functions
        )
        for spec in system.functions:
            if spec.starts_state_machines and spec.id not in tasks:
                self.functions.add(spec, self.workflows.state_machines)
        self.api = PrivateApi(
            self,
            "Api",
            description=system,
            config=config,
            data=self.data,
            network=self.network,
            handler=self.functions.functions[API_FUNCTION_ID],
        )
        self.monitoring = Monitoring(
            self,
            "Monitoring",
            description=system,
            config=config,
            data=self.data,
            api=self.api,
            functions=self.functions.functions,
            log_groups=self.functions.log_groups,
            state_machines=self.workflows.state_machines,
        )
        self.backup = Backup(self, "Backup", description=system, config=config, data=self.data)


class JukiBackupCopyStack(Stack):
    """The Osaka (ap-northeast-3) vault that receives the daily backup copies."""

    def __init__(self, scope: Construct, construct_id: str, *, config: JukiConfig, **kwargs: Any) -> None:
        require_region(config.backup_region, BACKUP_COPY_REGION, "backup copy")
        super().__init__(
            scope,
            construct_id,
            env=Environment(account=config.account, region=config.backup_region),
            description=f"Juki off-site backup copy vault (Osaka), municipality {config.municipality_code}",
            **kwargs,
        )
        self.copy_vault = BackupCopyVault(
            self, "CopyVault", description=describe(config.municipality_code), region=config.backup_region
        )
