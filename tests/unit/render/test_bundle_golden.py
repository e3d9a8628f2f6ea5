"""Rendered bundles for every built-in topology against checked-in golden files.

The golden files under tests/golden/<topology>/ were reviewed by eye once; a change in a
template or in the address plan shows up here as a diff. To accept an intended change:
    SPARKCTL_UPDATE_GOLDEN=1 .venv/bin/pytest tests/unit/render -q   (then review git diff)
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from sparkctl.render.bundle import BundleOptions, render_bundle
from sparkctl.targets import resolve_target
from sparkctl.topology.builtins import BUILTINS

from ...golden_files import assert_matches_golden

GOLDEN = Path(__file__).resolve().parents[2] / "golden"
# The defaults of `sparkctl render`: controller paths are variables resolved at run time, so
# the files do not depend on who renders them (test_bundle_portable.py proves it).
OPTIONS = BundleOptions()
COMPARED = ("inventory.yml", "ansible.cfg", "group_vars/all/sparkctl.yml", "preview")


def _files(root: Path) -> dict[str, str]:
    out = {}
    for name in COMPARED:
        path = root / name
        paths = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for item in paths:
            out[str(item.relative_to(root))] = item.read_text(encoding="utf-8")
    return out


@pytest.fixture(scope="module")
def bundles(tmp_path_factory) -> dict[str, Path]:
    base = tmp_path_factory.mktemp("bundles")
    return {name: render_bundle(resolve_target(topology=name), base / name, OPTIONS).root
            for name in BUILTINS}


@pytest.mark.parametrize("topology", list(BUILTINS))
def test_bundle_matches_golden(bundles, topology):
    assert_matches_golden(_files(bundles[topology]), GOLDEN / topology, _files, topology)


def test_golden_files_cover_every_node_and_file():
    # Guards the guard: an empty golden tree would compare equal to an empty render.
    for name, topo in BUILTINS.items():
        previews = list((GOLDEN / name / "preview").glob("*/*"))
        assert len(previews) == 4 * topo.nodes, name


def test_ring3_golden_has_six_subnets_and_no_twin_sharing():
    # Checked once by eye, kept as a fact: ring3 uses six /24s, one per rail per cable.
    nets = set()
    for host in ("spark-1", "spark-2", "spark-3"):
        plan = yaml.safe_load((GOLDEN / "ring3" / "preview" / host / "40-sparkctl.yaml")
                              .read_text())
        subnets = [a.rsplit(".", 1)[0] for e in plan["network"]["ethernets"].values()
                   for a in e.get("addresses", [])]
        assert len(subnets) == len(set(subnets)) == 4
        nets.update(subnets)
    assert len(nets) == 6


def test_bundle_vars_and_modes(bundles):
    root = bundles["switch4"]
    assert (root / "inventory.yml").stat().st_mode & 0o777 == 0o600
    assert (root / ".sparkctl-bundle").exists()
    cfg = (root / "ansible.cfg").read_text()
    assert "pipelining = True" in cfg and "ControlPersist=60s" in cfg
    assert "forks = 5" in cfg and "host_key_checking = True" in cfg


def test_untuned_bundle_uses_ansible_defaults(tmp_path):
    root = render_bundle(resolve_target(topology="single"), tmp_path / "b",
                         BundleOptions(tuned=False)).root
    cfg = (root / "ansible.cfg").read_text()
    assert "pipelining = False" in cfg and "ControlMaster=no" in cfg
    assert yaml.safe_load((root / "group_vars/all/sparkctl.yml").read_text())[
        "sparkctl_gather_subset"] == ["all"]


@pytest.mark.skipif(shutil.which("netplan") is None, reason="netplan.io not installed")
@pytest.mark.parametrize("topology", list(BUILTINS))
def test_golden_netplan_passes_netplan_generate(tmp_path, topology):
    for plan in sorted((GOLDEN / topology / "preview").glob("*/40-sparkctl.yaml")):
        root = tmp_path / plan.parent.name
        (root / "etc/netplan").mkdir(parents=True)
        target = root / "etc/netplan/40-sparkctl.yaml"
        shutil.copy(plan, target)
        target.chmod(0o600)
        proc = subprocess.run(["netplan", "generate", "--root-dir", str(root)],
                              capture_output=True, text=True, timeout=60)
        assert proc.returncode == 0, proc.stderr
        networks = list((root / "run/systemd/network").glob("*.network"))
        assert networks, f"netplan generated nothing for {plan}"
        text = "".join(p.read_text() for p in networks)
        assert "LinkLocalAddressing=no" in text and "DHCP=" not in text.replace("DHCP=no", "")
