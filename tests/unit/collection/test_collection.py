"""The sparkctl.dgx_spark collection: built from the checkout's roles (one copy), installed
with ansible-galaxy, documented, and clean under ansible-lint's production profile."""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
import tomllib
from pathlib import Path

import pytest
import yaml

from ...collection_support import BIN, REPO, ansible_env

ROLES = sorted(p.name for p in (REPO / "playbooks" / "roles").iterdir() if p.is_dir())
MODULES = sorted(p.name for p in (REPO / "playbooks" / "roles").glob("*/library/*.py"))


def test_artifact_holds_the_roles_modules_plugin_and_nothing_else(built):
    with tarfile.open(built["artifact"]) as tar:
        names = set(tar.getnames())
        manifest = json.load(tar.extractfile("MANIFEST.json"))
    info = manifest["collection_info"]
    assert (info["namespace"], info["name"]) == ("sparkctl", "dgx_spark")
    assert {n.split("/")[1] for n in names if n.startswith("roles/")} == set(ROLES)
    assert sorted(n.rsplit("/", 1)[1] for n in names if n.startswith("plugins/modules/")) \
        == MODULES
    assert "plugins/inventory/cluster.py" in names
    assert {"README.md", "LICENSE", "CHANGELOG.md", "meta/runtime.yml",
            "playbooks/site.yml"} <= names
    # Nothing of the Python package, the tests, the build script or lab leftovers.
    assert not [n for n in names if n.startswith(("sparkctl/", "tests/", "build.py", ".venv"))
                or "molecule" in n or "__pycache__" in n
                or n == ".ansible-lint"]


def test_installed_roles_are_the_checkout_roles(built):
    installed = built["installed"]
    for source in sorted((REPO / "playbooks" / "roles").rglob("*")):
        if not source.is_file() or "__pycache__" in source.parts:
            continue
        rel = source.relative_to(REPO / "playbooks" / "roles")
        targets = [installed / "roles" / rel]
        if rel.parts[1] == "library":  # where a collection-hosted role finds it
            targets.append(installed / "plugins" / "modules" / rel.name)
        for target in targets:
            assert target.read_bytes() == source.read_bytes(), rel


def test_versions_agree():
    galaxy = yaml.safe_load((REPO / "collection" / "galaxy.yml").read_text())
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert galaxy["version"] == project["version"]
    assert galaxy["license"] == [project["license"]]


def _ansible(built, *args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([str(BIN / args[0]), *args[1:]], capture_output=True, text=True,
                          timeout=300, cwd=cwd, env=ansible_env(built["collections"]))


def test_ansible_doc_shows_role_arguments_and_the_plugin(built):
    role = _ansible(built, "ansible-doc", "-t", "role", "sparkctl.dgx_spark.mpi")
    assert role.returncode == 0, role.stderr
    assert "sparkctl_mpi_hostfile" in role.stdout and "mpi_hostfile_path" in role.stdout
    plugin = _ansible(built, "ansible-doc", "-t", "inventory", "sparkctl.dgx_spark.cluster")
    assert plugin.returncode == 0, plugin.stderr
    assert "cluster_file" in plugin.stdout and "dgx-sparkctl" in plugin.stdout
    modules = _ansible(built, "ansible-doc", "-l", "sparkctl.dgx_spark")
    assert modules.returncode == 0, modules.stderr
    assert {m.removesuffix(".py") for m in MODULES} <= {
        line.split()[0].rsplit(".", 1)[1] for line in modules.stdout.splitlines() if line}


def test_collection_playbook_finds_the_collection_roles_and_modules(built, tmp_path):
    from sparkctl.render.inventory import build_inventory, write_inventory
    from sparkctl.targets import resolve_target

    inventory = write_inventory(tmp_path / "inventory.yml",
                                build_inventory(resolve_target(topology="ring3").cluster))
    proc = _ansible(built, "ansible-playbook", "-i", str(inventory), "sparkctl.dgx_spark.site",
                    "--list-tasks")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for role in ("preflight", "network", "ssh_mesh", "rdma", "drivers", "mpi", "nccl"):
        assert f"sparkctl.dgx_spark.{role} : " in proc.stdout, role


LINT = BIN / "ansible-lint"


def _lint(path: Path, *paths: str) -> subprocess.CompletedProcess:
    return subprocess.run([str(LINT), "--nocolor", *paths], cwd=path, capture_output=True,
                          text=True, timeout=600,
                          env=ansible_env(path.parents[2]))  # .../ansible_collections


@pytest.mark.slow
@pytest.mark.skipif(not LINT.exists(), reason="ansible-lint not installed")
def test_collection_passes_ansible_lint_production(built):
    proc = _lint(built["staged"])
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-2000:]
    assert "Profile 'production' was required, and it passed" in proc.stdout + proc.stderr


@pytest.mark.slow
@pytest.mark.skipif(not LINT.exists(), reason="ansible-lint not installed")
def test_collection_lint_fails_on_a_broken_galaxy_file(built, tmp_path):
    copy = tmp_path / "ansible_collections" / "sparkctl" / "dgx_spark"
    shutil.copytree(built["staged"], copy)
    galaxy = yaml.safe_load((copy / "galaxy.yml").read_text())
    galaxy["tags"] = ["Not A Tag"]
    (copy / "galaxy.yml").write_text(yaml.safe_dump(galaxy))
    proc = _lint(copy, "galaxy.yml")
    assert proc.returncode != 0
    assert "galaxy" in proc.stdout + proc.stderr
