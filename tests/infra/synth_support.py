"""Synthesis for the infra tests, offline (bundling skipped), and what the tests read from it."""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "18,20")
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "18,20")
os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "18,20")

from aws_cdk import App, Stack
from aws_cdk.assertions import Annotations, Match, Template
from juki_infra.app import build
from juki_infra.nag import nag_packs

if TYPE_CHECKING:
    from collections.abc import Mapping

    from juki_infra.stack import JukiBackupCopyStack, JukiStack

# Offline and fast: no layer build (bundling skipped for every stack), and nag findings are
# collected by the test instead of aborting the synthesis.
TEST_CONTEXT: dict[str, Any] = {
    "aws:cdk:bundling-stacks": [],
    "@aws-cdk/core:failSynthOnValidationErrors": False,
}


@dataclass
class Synth:
    app: App
    primary: JukiStack
    copy_stack: JukiBackupCopyStack
    template: Template
    copy_template: Template
    nag_findings: list[str]

    def logical_id(self, construct: Any) -> str:
        return self.primary.get_logical_id(construct.node.default_child)


def synthesize(tmp_dir: str, **context: Any) -> Synth:
    app = App(context={**TEST_CONTEXT, **context}, outdir=tmp_dir)
    primary, copy_stack = build(app)
    findings = [
        f"{violation.rule_name} at {resource.construct_path}: {violation.description}"
        for pack in nag_packs(app)
        for violation in pack.validate_scope(app).violations
        for resource in violation.violating_resources
    ]
    template = Template.from_stack(primary)
    copy_template = Template.from_stack(copy_stack)
    pattern = Match.string_like_regexp(r"(AwsSolutions-|NIST\.800\.53)")
    for stack in (primary, copy_stack):
        annotations = Annotations.from_stack(stack)
        for message in (*annotations.find_error("*", pattern), *annotations.find_warning("*", pattern)):
            findings.append(f"{message.id}: {message.entry.data}")
    return Synth(app, primary, copy_stack, template, copy_template, findings)


def resources(template: Template, resource_type: str) -> Mapping[str, Any]:
    found: Mapping[str, Any] = template.find_resources(resource_type)
    return found


def ref_to(stack: Stack, construct: Any) -> dict[str, str]:
    return {"Ref": stack.get_logical_id(construct.node.default_child)}
