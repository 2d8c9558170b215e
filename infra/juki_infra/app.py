"""CDK entry point: ``python -m juki_infra.app`` (what ``make synth`` and cdk.json run)."""

from __future__ import annotations

import json
import os
from typing import Any

from aws_cdk import App

from juki_infra.config import JukiConfig
from juki_infra.description import REPO_ROOT
from juki_infra.nag import acknowledge_findings, add_nag_packs
from juki_infra.stack import JukiBackupCopyStack, JukiStack


def build(app: App) -> tuple[JukiStack, JukiBackupCopyStack]:
    """Add both stacks and the cdk-nag checks to ``app``."""
    config = JukiConfig.from_context(app.node)
    name = f"Juki-{config.municipality_code}"
    copy_stack = JukiBackupCopyStack(app, f"{name}-BackupCopy", config=config)
    primary = JukiStack(app, name, config=config)
    # Deploy the Osaka vault first: the primary stack's backup plan copies into it (by ARN).
    primary.add_stack_dependency(copy_stack)
    add_nag_packs(app)
    acknowledge_findings(primary, copy_stack)
    return primary, copy_stack


def _cdk_json_context() -> dict[str, Any]:
    """When run without the CDK CLI (``make synth``), use cdk.json's context like the CLI would."""
    if "CDK_CONTEXT_JSON" in os.environ:
        return {}
    cdk_json = REPO_ROOT / "cdk.json"
    if not cdk_json.exists():
        return {}
    context: dict[str, Any] = json.loads(cdk_json.read_text(encoding="utf-8")).get("context", {})
    return context


def main() -> None:
    outdir = None if "CDK_OUTDIR" in os.environ else str(REPO_ROOT / "cdk.out")
    app = App(context=_cdk_json_context(), outdir=outdir)
    stacks = build(app)
    assembly = app.synth()  # cdk-nag runs here and fails the synthesis on any unacknowledged finding
    for stack in stacks:
        print(f"{stack.stack_name} ({stack.region}): {assembly.directory}/{stack.template_file}")
    print("cdk-nag (AwsSolutions, NIST 800-53 rev 5): no unacknowledged findings")


if __name__ == "__main__":
    main()
