"""Fuzz: numeric CLI options given nan, inf, negative, huge or non-numbers exit 2 naming the
option, before anything runs or is written."""

from __future__ import annotations

import math

from hypothesis import given
from hypothesis import strategies as st

from .conftest import FUZZ
from .helpers import assert_refused, run_cli, sandbox

OPEN0 = "> 0"  # a lower bound of 0, itself excluded
# (command prefix, option, float or int, lowest valid, highest valid)
OPTIONS = [
    (["validate", "-t", "single"], "--budget", float, 5, 86400),
    (["validate", "-t", "single"], "--regression-pct", float, 1, 99),
    (["health", "-t", "single"], "--budget", float, 3, 86400),
    (["health", "-t", "single"], "--regression-pct", float, 1, 99),
    (["health", "-t", "single"], "--retention-days", float, 0, 36500),
    (["plan", "-m", "gpt-oss-120b"], "--usable-gib", float, OPEN0, 4096),
    (["plan", "-m", "gpt-oss-120b"], "--overhead-gib", float, 0, 4096),
    (["plan", "-m", "gpt-oss-120b"], "--concurrency", int, 1, None),
    (["discover", "-t", "single"], "--window", float, 0.2, 30),
    (["lab", "ssh", "{opt}", "spark-1"], "--timeout", float, OPEN0, 7 * 86400),
    (["provision", "-t", "single"], "--forks", int, 1, 256),
    (["provision", "-t", "single"], "--timeout", int, 1, 7 * 86400),
    (["provision", "-t", "single"], "--keep-runs", int, 1, 100_000),
    (["render", "-t", "single", "-o", "{out}"], "--forks", int, 1, 256),
    (["init", "-t", "single", "-o", "{out}"], "--mtu", int, 1280, 9216),
    (["runtime", "render", "vllm", "-t", "direct", "-m", "openai/gpt-oss-120b", "-o",
      "{out}"], "--pp", int, 1, 64),
    (["runtime", "up", "vllm", "-t", "direct", "-m", "openai/gpt-oss-120b"], "--timeout",
     int, 1, 7 * 86400),
    (["runtime", "status", "vllm", "-t", "direct", "-m", "openai/gpt-oss-120b"],
     "--timeout", float, OPEN0, 3600),
]


@st.composite
def invalid_value(draw, kind, lo, hi):
    choices = [st.sampled_from(["nan", "NaN", "inf", "-inf", "infinity", "1e309", "-1e309",
                                "", "abc", "1,5", "0x10", " "]),
               st.just("9" * 400)]
    if lo is not None:
        below = st.floats(max_value=0 if lo == OPEN0 else lo, exclude_max=lo != OPEN0,
                          allow_nan=False, allow_infinity=False) if kind is float else \
            st.integers(max_value=lo - 1)
        choices.append(below.map(repr if kind is float else str))
    if hi is not None:
        above = st.floats(min_value=hi, exclude_min=True, allow_nan=False,
                          allow_infinity=False) if kind is float else \
            st.integers(min_value=hi + 1)
        choices.append(above.map(repr if kind is float else str))
    if kind is int:
        choices.append(st.floats(allow_nan=False, allow_infinity=False)
                       .filter(lambda f: f != math.floor(f)).map(repr))
    return draw(st.one_of(*choices))


@FUZZ
@given(data=st.data(), index=st.integers(0, len(OPTIONS) - 1))
def test_bad_numbers_are_refused_naming_the_option(data, index):
    prefix, option, kind, lo, hi = OPTIONS[index]
    value = data.draw(invalid_value(kind, lo, hi), label="value")
    with sandbox() as root:
        given = f"{option}={value}"
        args = [a.replace("{out}", str(root / "out")).replace("{opt}", given) for a in prefix]
        if given not in args:
            args.append(given)
        outcome = run_cli(args, root)
        assert_refused(outcome, option, option.strip("-"))
