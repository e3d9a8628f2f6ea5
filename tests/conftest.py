import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_FIXTURES = REPO.parent / "shared" / "fixtures"


# What lab tests need on the host: root for namespaces and mounts, and these programs.
LAB_NEEDS = ["ip", "tc", "unshare", "nsenter", "ssh", "ssh-keygen", "debootstrap", "iperf3"]


def lab_skip_reason() -> str | None:
    if os.geteuid() != 0:
        return "lab tests need root (network namespaces, mounts); CI runs them as root"
    missing = [b for b in LAB_NEEDS if shutil.which(b) is None]
    if missing:
        return f"lab tests need {', '.join(missing)}: run `sparkctl lab prereqs --install`"
    return None


def pytest_collection_modifyitems(config, items):
    # One place decides whether `lab` tests can run, and says why when they cannot.
    reason = lab_skip_reason()
    if reason is None:
        return
    skip = pytest.mark.skip(reason=reason)
    for item in items:
        if item.get_closest_marker("lab") is not None:
            item.add_marker(skip)


@pytest.fixture
def repo() -> Path:
    return REPO


@pytest.fixture
def ansible_bin() -> Path:
    """The ansible-* programs of the interpreter running the tests (the venv)."""
    import sys

    path = Path(sys.executable).parent
    if not (path / "ansible-inventory").exists():
        found = shutil.which("ansible-inventory")
        if not found:
            pytest.fail("ansible-inventory not installed; pip install -e '.[test]'")
        path = Path(found).parent
    return path


def pytest_sessionfinish(session, exitstatus):
    # "No tests ran" must never read as success, in CI or by hand.
    if exitstatus == pytest.ExitCode.NO_TESTS_COLLECTED:
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
