"""What every judge returns, and what several domains share (the twin of a Spark HCA)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TypedDict

from sparkctl.checks.result import CheckResult, Scalar, Verdict
from sparkctl.topology import hardware

# (pattern, cause, hint): the first pattern found among a run's error lines names the cause.
Signature = tuple[re.Pattern[str], str, str]


class Measurement(TypedDict):
    """The measured, expected and unit fields a judge passes on to each of its Judgements."""

    measured: Scalar
    expected: Scalar
    unit: str | None


@dataclass(frozen=True)
class Judgement:
    """A verdict with its diagnosis, or no verdict.

    `verdict` None means the input holds nothing to judge (a server banner, a version). With
    `missing` set it means the input is incomplete: it could be judged once `missing` is
    there (a run cut before the saturating sizes, a counter snapshot without a second one).
    """

    verdict: Verdict | None
    diagnosis: str
    hint: str | None = None
    measured: Scalar = None
    expected: Scalar = None
    unit: str | None = None
    missing: str | None = None

    @property
    def incomplete(self) -> bool:
        return self.verdict is None and self.missing is not None

    def to_check(self, id: str, kind: str, subject: str) -> CheckResult:
        if self.verdict is None:
            raise ValueError(f"{id}: nothing was judged ({self.diagnosis})")
        return CheckResult(id=id, kind=kind, subject=subject, verdict=self.verdict,
                           measured=self.measured, expected=self.expected, unit=self.unit,
                           diagnosis=self.diagnosis, hint=self.hint)


def incomplete(diagnosis: str, missing: str, hint: str | None = None) -> Judgement:
    return Judgement(None, diagnosis, hint, missing=missing)


def worst(judgements: Iterable[Judgement]) -> Judgement:
    """The most severe judgement; the first of equals. Inconclusive ones lose to any verdict."""
    best: Judgement | None = None
    for j in judgements:
        if best is None:
            best = j
        elif j.verdict is not None and (
                best.verdict is None or j.verdict.severity > best.verdict.severity):
            best = j
    if best is None:
        raise ValueError("no judgements to combine")
    return best


def hardware_twin(hca: str) -> str | None:
    """The other RDMA device of the same QSFP port on a DGX Spark, or None if not a Spark HCA."""
    for port in hardware.PORTS:
        names = [hardware.hca(port, rail) for rail in hardware.RAILS]
        if hca in names:
            return names[1 - names.index(hca)]
    return None


def first_signature(errors: list[str], signatures: Iterable[Signature], prefix: str,
                    fallback_hint: str) -> Judgement:
    """A failed run: the first known signature among the error lines names the cause."""
    text = "\n".join(errors)
    for pattern, cause, hint in signatures:
        if pattern.search(text):
            return Judgement(Verdict.FAIL, f"{prefix}: {cause}.", hint,
                             measured=len(errors), expected=0, unit="errors")
    first = errors[0] if errors else "unknown error"
    return Judgement(Verdict.FAIL, f"{prefix}: {first[:200]}.", fallback_hint,
                     measured=len(errors), expected=0, unit="errors")
