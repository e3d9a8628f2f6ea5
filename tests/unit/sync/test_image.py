"""Image sync: the docker command lines it builds, and what happens without docker."""

from __future__ import annotations

import shlex

import pytest

import sparkctl.sync.image as image
from sparkctl.errors import RunFailed
from sparkctl.sync.image import ImageSkipped, Shell, check_docker
from sparkctl.sync.run import SyncOptions

from .fakes import FakePool, loopback_cluster

ID = "sha256:" + "ab" * 32


def test_command_lines_quote_the_image_and_write_the_tar_atomically():
    stage = image.stage_dir(ID)
    assert stage == "/var/tmp/sparkctl-sync/images/abababababababab"
    save = image.save_command("nvcr.io/nvidia/vllm:26.05-py3", stage)
    assert "docker save --output /var/tmp/sparkctl-sync/images/abababababababab/image.tar.tmp " \
           "nvcr.io/nvidia/vllm:26.05-py3" in save
    assert "mv /var/tmp/sparkctl-sync/images/abababababababab/image.tar.tmp " in save
    assert save.index("[ ! -s ") < save.index("docker save")  # a whole tar is not saved again
    assert image.load_command(stage) == f"docker load --input {stage}/image.tar"
    assert image.inspect_command("a/b:c") == "docker image inspect --format '{{.Id}}' a/b:c"
    assert image.cleanup_command(stage) == f"rm -rf -- {stage}"
    # whatever the name, it is one shell word
    odd = "registry.local:5000/team/model:v1"
    assert shlex.split(image.inspect_command(odd))[-1] == odd


def test_an_image_id_that_is_not_a_digest_is_refused():
    with pytest.raises(RunFailed, match="not sha256"):
        image.stage_dir("sha256:../../etc")


def fixed_shell(where, status, err=""):
    return Shell(where, lambda command, timeout: (status, "", err))


def test_docker_presence_is_checked_everywhere_and_explained():
    missing = check_docker({"source": fixed_shell("spark-1", 0),
                            "spark-2": fixed_shell("spark-2", 127),
                            "spark-3": fixed_shell("spark-3", 1, "permission denied while "
                                                   "trying to connect to the socket")})
    assert missing == {"spark-2": "docker is not installed on spark-2",
                       "spark-3": "cannot check docker on spark-3: permission denied while "
                       "trying to connect to the socket (add the login user to the docker "
                       "group)"}


def test_without_docker_at_the_source_every_node_is_skipped(tmp_path, monkeypatch):
    """The lab's case: no docker anywhere. The check runs (a shell asked for a docker that
    is not there, whatever this machine has); nothing is copied; the report says skipped."""
    pool = FakePool(tmp_path / "nodes")
    monkeypatch.setattr(image, "open_pool", lambda nodes, timeout: pool)
    monkeypatch.setattr(image, "has_docker_command",
                        lambda: "[ -x /nonexistent/docker ] || exit 127")
    cluster = loopback_cluster(3)
    options = SyncOptions(source="docker:vllm", receivers=("n2", "n3"), from_node="n1")
    with pytest.raises(ImageSkipped) as info:
        image.sync_image(cluster, "nvcr.io/nvidia/vllm:26.05-py3", options)
    report = info.value.report
    assert report.verdict == "skipped" and report.kind == "image"
    assert [(n.name, n.state) for n in report.nodes] == [("n2", "skipped"), ("n3", "skipped")]
    assert report.nodes[0].error == "docker is not installed on n1"
    assert int(info.value.exit_code) == 2
