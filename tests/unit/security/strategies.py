"""Hypothesis strategies: wrong types for every field, hostile strings, structure mutations."""

from __future__ import annotations

import math

from hypothesis import strategies as st

from .helpers import HOSTILE, PAYLOADS

# A string that is invalid in every validated field: at least one hostile character.
hostile_text = st.builds(lambda a, h, b: a + h + b, st.text(max_size=12),
                         st.sampled_from(HOSTILE + list(PAYLOADS.values())),
                         st.text(max_size=12))
bad_numbers = st.one_of(
    st.sampled_from([math.nan, math.inf, -math.inf, 1.5, -0.5, 1e308]),
    st.floats(allow_nan=True, allow_infinity=True).filter(lambda f: f != int(f)
                                                          if math.isfinite(f) else True))
bad_scalars = st.one_of(st.none(), st.booleans(), bad_numbers, hostile_text)
bad_containers = st.one_of(
    st.lists(st.one_of(st.integers(), hostile_text, st.none()), min_size=1, max_size=3),
    st.dictionaries(st.text(min_size=1, max_size=5), st.integers(), min_size=1, max_size=2),
    st.recursive(st.integers(), lambda inner: st.lists(inner, min_size=1, max_size=2),
                 max_leaves=6).filter(lambda v: isinstance(v, list)),
)
wrong_value = st.one_of(bad_scalars, bad_containers)
