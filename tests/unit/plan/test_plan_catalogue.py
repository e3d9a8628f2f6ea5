"""The shipped catalogue: every number sourced, and the facts' derived figures reproduced."""

from __future__ import annotations

import pytest

from sparkctl.errors import InputError
from sparkctl.plan import memory
from sparkctl.plan.catalogue import find_model, load_catalogue
from sparkctl.plan.constants import CONFIDENCE_ORDER, PLAN_TOPOLOGIES
from sparkctl.plan.memory import Parallelism

MODELS = load_catalogue()


def test_catalogue_has_the_fourteen_models_of_the_facts():
    assert len(MODELS) == 14
    assert len({m.name for m in MODELS}) == 14


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.name)
def test_every_number_has_a_source_and_a_known_confidence(model):
    fields = model.sourced_fields()
    assert "params_b" in fields
    for name, value in fields.items():
        assert value.source.strip(), f"{model.name}.{name} has no source"
        assert value.confidence in CONFIDENCE_ORDER, f"{model.name}.{name}"
    for ck in model.checkpoints:
        if ck.size is not None:
            assert ck.size.source and ck.size.confidence in CONFIDENCE_ORDER
    for r in model.spark_results:
        assert r.source and r.confidence in CONFIDENCE_ORDER


@pytest.mark.parametrize("model", [m for m in MODELS if m.checks], ids=lambda m: m.name)
def test_planner_reproduces_the_figures_the_facts_derived(model):
    one = Parallelism(1, 1)
    checks = model.checks
    if "kv_bytes_per_token_bf16" in checks:
        assert memory.kv_rates(model, one, "bf16").full_per_token == \
            checks["kv_bytes_per_token_bf16"]
    if "kv_bytes_per_token_fp8" in checks:
        assert memory.kv_rates(model, one, "fp8").full_per_token == \
            checks["kv_bytes_per_token_fp8"]
    if "sliding_cap_bytes_per_seq_bf16" in checks:
        rates = memory.kv_rates(model, one, "bf16")
        assert rates.sliding_per_token * rates.window == checks["sliding_cap_bytes_per_seq_bf16"]
    if "linear_state_elements_per_seq" in checks:
        ls = model.linear_state
        assert int(ls.layers.value) * ls.elements_per_layer() == \
            checks["linear_state_elements_per_seq"]


def test_every_model_with_geometry_has_a_check():
    unchecked = [m.name for m in MODELS if not m.missing_for_kv() and not m.checks]
    assert unchecked == []


@pytest.mark.parametrize("text,name", [
    ("gpt-oss-120b", "gpt-oss-120b"),
    ("GPT-OSS-120B", "gpt-oss-120b"),
    ("openai/gpt-oss-120b", "gpt-oss-120b"),
    ("deepseek-r1", "DeepSeek-V3"),
    ("  glm-5 ", "GLM-5"),
])
def test_lookup_is_case_insensitive_and_knows_ids_and_aliases(text, name):
    assert find_model(text).name == name


def test_near_miss_suggests_names():
    with pytest.raises(InputError) as err:
        find_model("gpt-oss-12b")
    assert "unknown model 'gpt-oss-12b'" in str(err.value)
    assert "did you mean: gpt-oss-120b" in str(err.value)


def test_far_miss_points_to_the_list():
    with pytest.raises(InputError) as err:
        find_model("zzzz")
    assert "sparkctl plan --list" in str(err.value)


def test_planner_topologies_match_the_built_in_topologies():
    from sparkctl.topology.builtins import BUILTINS

    for topo in PLAN_TOPOLOGIES:
        assert BUILTINS[topo.name].nodes == topo.nodes
