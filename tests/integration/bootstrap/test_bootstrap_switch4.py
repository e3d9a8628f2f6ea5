"""Fresh switch4 lab: bootstrap -> provision -K -> validate; bootstrap again."""

from __future__ import annotations

import pytest

from .flow import Flow, FreshClusterChecks, run_flow

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def flow(fresh_lab, state_dir) -> Flow:
    return run_flow(fresh_lab("switch4", "bootsw"), state_dir)


class TestFreshSwitch4(FreshClusterChecks):
    pass
