"""Hypothesis settings for the fuzz suites: SPARKCTL_FUZZ_EXAMPLES examples per property
(default 50 in CI), no example database (nothing written into the checkout)."""

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "sparkctl-fuzz",
    max_examples=int(os.environ.get("SPARKCTL_FUZZ_EXAMPLES", "50")),
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
FUZZ = settings.get_profile("sparkctl-fuzz")
