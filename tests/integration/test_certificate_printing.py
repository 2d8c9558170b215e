"""The 転出証明書 printed by the movement-approval state machine after a non-card 転出's commit:
a print the rules refuse is recorded in the execution's output and never fails or undoes the
commit, and the counter still issues the certificate itself."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from juki.adapters.certificates import build_certificates
from juki.bootstrap import Services
from juki.domain.certificates import CertificateKind
from juki.domain.commands import MovementCommand
from juki.domain.errors import NotFound
from juki.domain.model import MovementStatus
from juki.services.certificates import PRINT_MOVE_OUT
from juki_local.system import LocalSystem
from pydantic import TypeAdapter
from test_certificates import CLERK, MANAGER, TODAY, fresh_household, request_for, restricted
from test_ledger_store import unique_move_in
from test_movement_workflow import executions, visited_states

commands: TypeAdapter[MovementCommand] = TypeAdapter(MovementCommand)


def move_out(person_id: str) -> MovementCommand:
    return commands.validate_python(
        {
            "kind": "move_out",
            "person_ids": [person_id],
            "planned_date": (TODAY + timedelta(days=5)).isoformat(),
            "notified_date": TODAY.isoformat(),
            "destination": {"prefecture": "静岡県", "municipality": "沼津市", "street": "御幸町16番1号"},
        }
    )


def execution_output(local_system: LocalSystem, movement_id: str) -> tuple[list[str], dict[str, Any]]:
    (execution,) = executions(local_system, movement_id)
    sfn = local_system.emulator.client("stepfunctions")
    described = sfn.describe_execution(executionArn=execution["executionArn"])
    assert described["status"] == "SUCCEEDED"
    return visited_states(local_system, execution["executionArn"]), json.loads(described["output"])


def test_a_refused_print_is_recorded_and_the_move_out_stays_final(
    services: Services, local_system: LocalSystem
) -> None:
    (person,) = fresh_household(services)
    restricted(services, person, "alert")  # nobody in a state machine can acknowledge it
    draft = services.movements.enter(move_out(person), CLERK)
    outcome = services.movements.approve(draft.movement_id, MANAGER, wait_seconds=30)
    assert outcome.movement.status == MovementStatus.FINAL

    states, output = execution_output(local_system, draft.movement_id)
    assert states == ["ValidateAndCommit", "PrintNeeded", "PrintMoveOutCertificate", "RecordPrintFailure",
                      "Committed"]  # fmt: skip
    assert output["print"] == PRINT_MOVE_OUT
    assert output["print_error"] == {"error": "PrintRefused"}  # the name only, no cause
    assert output["person_ids"] == [person]
    issuer = services.part(build_certificates)
    with pytest.raises(NotFound) as none:
        issuer.automatic_move_out_certificate(draft.movement_id, CLERK)
    assert none.value.code == "MOVE_OUT_CERTIFICATE_NOT_PRINTED"
    assert issuer.history(person, CLERK).issuances == []

    # The counter issues it, the alert acknowledged by the person issuing.
    by_hand = issuer.issue(
        request_for([person], kind=CertificateKind.MOVE_OUT, items=[], acknowledged_alerts=True), CLERK
    )
    assert by_hand.kind is CertificateKind.MOVE_OUT
    assert [record.channel for record in issuer.history(person, CLERK).issuances] == ["counter"]


def test_a_move_in_prints_nothing(services: Services, local_system: LocalSystem) -> None:
    draft = services.movements.enter(unique_move_in(1), CLERK)
    services.movements.approve(draft.movement_id, MANAGER, wait_seconds=30)
    states, output = execution_output(local_system, draft.movement_id)
    assert states == ["ValidateAndCommit", "PrintNeeded", "Committed"]
    assert output["print"] == "none" and "printed" not in output and "print_error" not in output
