#!/usr/bin/env python3
"""Assemble the sparkctl.dgx_spark collection and build its artifact.

The roles have one home, playbooks/roles/ (sparkctl's bundles copy them from there too).
This script lays out the collection in a staging directory,

    build/collection/ansible_collections/sparkctl/dgx_spark/
        galaxy.yml README.md CHANGELOG.md LICENSE meta/ plugins/   <- collection/
        roles/<role>/                                               <- playbooks/roles/
        plugins/modules/<module>.py                  <- also playbooks/roles/<role>/library/
        playbooks/site.yml playbooks/runtime.yml                    <- playbooks/

then runs `ansible-galaxy collection build` on it. A symlinked layout would not do:
ansible-galaxy skips symlinks to directories outside the collection. The roles' modules
are also in plugins/modules because ansible-core does not load library/ of a role that
lives in a collection (the tasks name them unqualified, which resolves to the role's own
collection first); library/ stays for a role used by path, as ansible-lint's syntax check
does (notes/ansible.md).

    python collection/build.py [--output-dir dist] [--stage-only]

prints the artifact's path (or, with --stage-only, the staging directory's).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
# What comes from collection/ itself; the build script stays out of the artifact.
OWN = ("galaxy.yml", "README.md", "CHANGELOG.md", "meta", "plugins")
PLAYBOOKS = ("site.yml", "runtime.yml", "uninstall.yml", "network_restore.yml")
IGNORED = shutil.ignore_patterns("__pycache__", "*.pyc", "molecule", ".pytest_cache")


def galaxy() -> dict:
    return yaml.safe_load((HERE / "galaxy.yml").read_text(encoding="utf-8"))


def stage(staging_root: Path) -> Path:
    """Lay the collection out under staging_root/ansible_collections/NS/NAME; return that."""
    meta = galaxy()
    dest = staging_root / "ansible_collections" / meta["namespace"] / meta["name"]
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    for name in OWN:
        source = HERE / name
        if source.is_dir():
            shutil.copytree(source, dest / name, ignore=IGNORED)
        else:
            shutil.copy2(source, dest / name)
    shutil.copy2(REPO / "LICENSE", dest / "LICENSE")
    shutil.copytree(REPO / "playbooks" / "roles", dest / "roles", ignore=IGNORED)
    modules = dest / "plugins" / "modules"
    modules.mkdir(parents=True, exist_ok=True)
    for module in sorted((dest / "roles").glob("*/library/*.py")):
        if (modules / module.name).exists():
            raise SystemExit(f"build.py: two roles ship a module {module.name}")
        shutil.copy2(module, modules / module.name)
    (dest / "playbooks").mkdir()
    for name in PLAYBOOKS:
        shutil.copy2(REPO / "playbooks" / name, dest / "playbooks" / name)
    # ansible-lint reads this file; the staged tree holds only collection content.
    (dest / ".ansible-lint").write_text(
        "---\nprofile: production\noffline: true\n", encoding="utf-8")
    return dest


def build(output_dir: Path, staging_root: Path, galaxy_bin: str) -> Path:
    dest = stage(staging_root)
    output_dir.mkdir(parents=True, exist_ok=True)
    meta = galaxy()
    artifact = output_dir / f"{meta['namespace']}-{meta['name']}-{meta['version']}.tar.gz"
    proc = subprocess.run(
        [galaxy_bin, "collection", "build", str(dest), "--output-path", str(output_dir),
         "--force"], capture_output=True, text=True, timeout=300)
    if proc.returncode != 0 or not artifact.is_file():
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"build.py: ansible-galaxy collection build failed ({proc.returncode})")
    return artifact


def _galaxy_bin() -> str:
    here = Path(sys.executable).parent / "ansible-galaxy"
    found = str(here) if here.exists() else shutil.which("ansible-galaxy")
    if not found:
        raise SystemExit("build.py: ansible-galaxy not found (pip install ansible-core)")
    return found


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--output-dir", type=Path, default=REPO / "dist")
    parser.add_argument("--staging-dir", type=Path, default=REPO / "build" / "collection")
    parser.add_argument("--stage-only", action="store_true",
                        help="lay out the collection (for ansible-lint) without building")
    args = parser.parse_args(argv)
    if args.stage_only:
        print(stage(args.staging_dir))
    else:
        print(build(args.output_dir, args.staging_dir, _galaxy_bin()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
