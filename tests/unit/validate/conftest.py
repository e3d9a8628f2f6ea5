import pytest

from .validate_helpers import context_for


@pytest.fixture
def make_context():
    return context_for
