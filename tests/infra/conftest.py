"""One synthesis per session: the CDK app is built once (bundling skipped) and shared by the tests.
The tests import their helpers from ``synth_support``."""

from __future__ import annotations

import pytest
from synth_support import Synth, synthesize


@pytest.fixture(scope="session")
def synth(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize(str(tmp_path_factory.mktemp("cdk-out")))


@pytest.fixture(scope="session")
def synth_without_baseline(tmp_path_factory: pytest.TempPathFactory) -> Synth:
    return synthesize(
        str(tmp_path_factory.mktemp("cdk-out-no-baseline")), create_cloudtrail=False, create_guardduty="false"
    )
