import os
import shutil
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED_FIXTURES = REPO.parent / "shared" / "fixtures"


def pytest_collection_modifyitems(config, items):
    # Lab tests need root (network namespaces, mounts); say so instead of failing obscurely.
    if os.geteuid() == 0:
        return
    skip = pytest.mark.skip(reason="lab tests need root (network namespaces, sshd)")
    for item in items:
        if "lab" in item.keywords:
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
