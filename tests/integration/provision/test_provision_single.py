"""Provision a single lab from scratch, then again (changed=0); verify every node."""

from __future__ import annotations

import pytest

from .cluster_checks import ProvisionedClusterChecks, lab_cluster

pytestmark = pytest.mark.lab


@pytest.fixture(scope="module")
def cluster(lab_factory, state_dir):
    return lab_cluster(lab_factory, state_dir, "single", "provsg")


class TestProvisionSingle(ProvisionedClusterChecks):
    pass
