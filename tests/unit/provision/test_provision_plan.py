from __future__ import annotations

import pytest

from sparkctl.errors import InputError
from sparkctl.provision.plan import check_tags, limited_hosts, outline, split_csv
from sparkctl.render.bundle import render_bundle
from sparkctl.targets import resolve_target

HOSTS = ("spark-1", "spark-2", "spark-3")


def test_unknown_tag_is_refused_with_the_role_names():
    check_tags(("network", "ssh_mesh"))
    with pytest.raises(InputError) as err:
        check_tags(("network", "netwrok"))
    assert "netwrok" in str(err.value) and "ssh_mesh" in str(err.value)


def test_limit_selects_names_and_patterns():
    assert limited_hosts(None, HOSTS) == HOSTS
    assert limited_hosts("spark-3,spark-1", HOSTS) == ("spark-1", "spark-3")
    assert limited_hosts("spark-[12]", HOSTS) == ("spark-1", "spark-2")
    assert limited_hosts("!spark-2", HOSTS) == ("spark-1", "spark-3")


def test_limit_naming_no_node_is_an_input_error():
    with pytest.raises(InputError, match="spark-9"):
        limited_hosts("spark-9", HOSTS)


def test_split_csv_ignores_blanks():
    assert split_csv(" network, ,mpi ") == ("network", "mpi")
    assert split_csv(None) == ()


def test_outline_counts_tasks_per_tag(tmp_path):
    root = render_bundle(resolve_target(topology="ring3"), tmp_path / "b").root
    plan = outline(root)
    everything = plan.tasks_for(())
    network_only = plan.tasks_for(("network",))
    # preflight is tagged always: it runs with any --tags.
    assert plan.pre_tasks + plan.role_tasks["preflight"] + plan.role_tasks["network"] \
        == network_only
    assert everything == plan.pre_tasks + sum(plan.role_tasks.values())
    assert plan.tasks_for((), ("nccl",)) == everything - plan.role_tasks["nccl"]
