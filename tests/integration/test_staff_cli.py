"""The first staff administrator of a deployment is made with the command line, and logged."""

from datetime import datetime, timedelta

from juki.adapters.system import JST
from juki.bootstrap import Services
from juki.cli.staff import main
from juki.domain.staff import Role


def test_bootstrap_registers_the_first_administrator_once(services: Services) -> None:
    argv = ["bootstrap", "--staff-id", "A0001", "--name", "初代 管理者", "--employee-number", "E-A0001",
            "--office", "静岡市役所"]  # fmt: skip
    assert main(argv) == 0
    assert main(argv) == 0, "running it again changes nothing"
    assert services.staff.admit("A0001", "静岡市役所") == frozenset({Role.STAFF_ADMIN})
    now = datetime.now(JST)
    made = [e for e in services.oplog_reader.between(now - timedelta(minutes=5), now + timedelta(seconds=1))
            if e.subject == "staff:A0001"]  # fmt: skip
    assert [(e.staff_id, e.action) for e in made] == [("system:bootstrap", "create")]
