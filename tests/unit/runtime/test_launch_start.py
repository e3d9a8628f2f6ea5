"""`launch.sh start` of the multi-node vLLM launch, against a stand-in `docker`.

There is no docker daemon here (and none may be started on a shared machine: dockerd
rewrites the FORWARD policy the labs rely on), so a small script plays the docker CLI: it
records `run`, answers `inspect`, `exec ... test -S <raylet socket>`, `logs` and `rm` from a
state file. What is tested is launch.sh's own control flow: the issue's failure was that a
Ray container which died at once still gave `CHANGED started`, and `wait` then hung 600 s.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from sparkctl.runtime.prepare import prepare_launch
from sparkctl.runtime.render import render_launch_dir

MODEL = "openai/gpt-oss-120b"

# The state file holds "<label> <running>" like the template's `docker inspect -f` format.
_DOCKER = r"""#!/bin/bash
state="$STUB_DIR/state"
case "$1" in
  inspect)
    [ -s "$state" ] || exit 1
    if [ "$2" = -f ]; then
      case "$3" in
        *Labels*) cat "$state" ;;
        *) cut -d' ' -f2 "$state" ;;
      esac
    fi ;;
  run)
    printf '%s\n' "$@" > "$STUB_DIR/run-args"
    label=$(printf '%s\n' "$@" | sed -n 's/^sparkctl.config=//p')
    running=false; [ "$STUB_RAY" = ok ] && running=true
    echo "$label $running" > "$state"
    echo 0123456789ab ;;
  exec)
    shift 2
    [ "$*" = "test -S /tmp/ray/session_latest/sockets/raylet" ] && [ "$STUB_RAY" = ok ] ;;
  logs)
    [ -s "$state" ] && echo "$STUB_LOG" ;;
  rm)
    rm -f "$state" ;;
  *) exit 1 ;;
esac
"""


@pytest.fixture
def launch(tmp_path, target):
    plan = prepare_launch(target("direct"), "vllm", model=MODEL)
    out = render_launch_dir(plan, tmp_path / "o")
    rdma = tmp_path / "rdma.env"
    rdma.write_text("SPARKCTL_GID_INDEX_rocep1s0f1=3\nNCCL_IB_GID_INDEX=3\n")
    bindir = tmp_path / "bin"
    bindir.mkdir()
    (bindir / "docker").write_text(_DOCKER)
    (bindir / "docker").chmod(0o755)
    stub = tmp_path / "stub"
    stub.mkdir()

    def run(node: str, ray: str, rdma_path: Path = rdma) -> subprocess.CompletedProcess:
        script = out / node / "launch.sh"
        text = script.read_text().replace("RDMA_ENV=/etc/sparkctl/rdma.env",
                                          f"RDMA_ENV={rdma_path}")
        text = text.replace('mkdir -p "$LOG_DIR" "$HF_CACHE"', ": no node directories here")
        script.write_text(text)
        env = {"PATH": f"{bindir}:{os.environ['PATH']}", "STUB_DIR": str(stub),
               "STUB_RAY": ray, "RAY_START_TIMEOUT_S": "20",
               "STUB_LOG": "sparkctl: this image has no ray and pip could not install "
                           "ray[default]>=2.9"}
        return subprocess.run(["/bin/bash", str(script), "start"], capture_output=True,
                              text=True, env=env, timeout=60)

    run.stub = stub  # type: ignore[attr-defined]
    return run


@pytest.mark.parametrize("node", ["spark-1", "spark-2"])
def test_a_ray_container_that_dies_is_a_fast_failure_not_changed(launch, node):
    proc = launch(node, "missing")
    assert proc.returncode == 5, proc.stdout + proc.stderr
    assert "CHANGED" not in proc.stdout
    assert "ray start failed on" in proc.stderr and "needs ray[default]>=2.9" in proc.stderr
    assert "pip could not install ray[default]>=2.9" in proc.stderr  # the container's log
    assert not (launch.stub / "state").exists()  # the dead container was removed


def test_a_started_raylet_is_changed_then_ok(launch, tmp_path):
    first = launch("spark-1", "ok")
    assert first.returncode == 0, first.stderr
    assert first.stdout.strip() == "CHANGED started sparkctl-vllm"
    args = (launch.stub / "run-args").read_text().splitlines()
    env_files = [args[i + 1] for i, a in enumerate(args) if a == "--env-file"]
    assert env_files[1] == str(tmp_path / "rdma.env")  # the measured GID index
    assert args[args.index("--shm-size") + 1] == "10.24g"
    assert args[args.index("--entrypoint") + 1] == "/bin/bash"
    second = launch("spark-1", "ok")
    assert second.returncode == 0 and second.stdout.startswith("OK sparkctl-vllm already")


def test_start_refuses_a_node_without_the_measured_gid_index(launch, tmp_path):
    proc = launch("spark-2", "ok", rdma_path=tmp_path / "absent.env")
    assert proc.returncode == 3
    assert "absent.env is missing" in proc.stderr and "provision the cluster first" \
        in proc.stderr
    assert not (launch.stub / "run-args").exists()
