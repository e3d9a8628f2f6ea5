import pytest

from ...collection_support import build_collection, install_collection


@pytest.fixture(scope="session")
def built(tmp_path_factory) -> dict:
    """The collection built from this checkout and installed into a fresh collections path."""
    work = tmp_path_factory.mktemp("collection")
    artifact, staged = build_collection(work)
    installed = install_collection(artifact, work / "collections")
    return {"artifact": artifact, "staged": staged, "installed": installed,
            "collections": work / "collections"}
