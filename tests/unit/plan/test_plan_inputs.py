"""Bad inputs end in InputError (exit 2) with a message that says what is wrong."""

from __future__ import annotations

import pytest

from sparkctl.errors import InputError
from sparkctl.exitcodes import ExitCode
from sparkctl.plan.catalogue import find_model
from sparkctl.plan.lookup import resolve_model
from sparkctl.plan.planner import PlanRequest, plan
from sparkctl.plan.units import format_tokens, parse_context, parse_params_b


@pytest.mark.parametrize("text,tokens", [
    ("131072", 131072), ("128k", 131072), ("32K", 32768), ("1m", 1048576), ("0.5k", 512),
    (4096, 4096),
])
def test_context_parsing(text, tokens):
    assert parse_context(text) == tokens


@pytest.mark.parametrize("text", ["0", "0k", "-5", "abc", "12q", "", "0.3"])
def test_bad_contexts_are_input_errors(text):
    with pytest.raises(InputError) as err:
        parse_context(text)
    assert err.value.exit_code == ExitCode.USAGE
    assert "--context" in str(err.value)


@pytest.mark.parametrize("text,billions", [("120", 120.0), ("120b", 120.0), ("116.83B", 116.83),
                                           ("1t", 1000.0)])
def test_params_parsing(text, billions):
    assert parse_params_b(text) == billions


@pytest.mark.parametrize("text", ["0", "-3b", "lots", "12gb"])
def test_bad_params(text):
    with pytest.raises(InputError, match="--params"):
        parse_params_b(text)


def test_format_tokens():
    assert format_tokens(131072) == "128k"
    assert format_tokens(1000) == "1000"


@pytest.mark.parametrize("request_, message", [
    (PlanRequest(quant="fp4"), "unknown quantization 'fp4'"),
    (PlanRequest(kv_dtype="int8"), "unknown KV cache dtype 'int8'"),
    (PlanRequest(context_tokens=0), "--context must be at least 1"),
    (PlanRequest(concurrency=0), "--concurrency must be at least 1"),
    (PlanRequest(concurrency=-2), "--concurrency must be at least 1, got -2"),
    (PlanRequest(usable_gib=0), "--usable-gib must be positive"),
    (PlanRequest(overhead_gib=-1), "--overhead-gib cannot be negative"),
    (PlanRequest(overhead_gib=119), "leaves nothing"),
])
def test_bad_requests(request_, message):
    with pytest.raises(InputError) as err:
        plan(find_model("gpt-oss-20b"), request_)
    assert message in str(err.value)
    assert err.value.exit_code == ExitCode.USAGE


def test_catalogue_model_without_kv_geometry_is_refused_not_guessed():
    with pytest.raises(InputError) as err:
        plan(find_model("Llama-3.3-Nemotron-Super-49B-v1.5"), PlanRequest())
    assert "num_hidden_layers, num_key_value_heads unknown" in str(err.value)


def test_params_override_a_catalogue_model():
    model = resolve_model("gpt-oss-120b", params_b=120.0)
    assert model.params_b.value == 120.0
    assert model.params_b.confidence == "given"
    assert any("--params" in n for n in model.notes)


def test_empty_model_name():
    with pytest.raises(InputError, match="--model is empty"):
        resolve_model("  ")
