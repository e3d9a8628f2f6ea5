"""`sparkctl validate`: links, rail bandwidth and collectives, measured over SSH and judged.

Measuring (probe/, remote/ programs) and judging (pure functions in links/reach/rails/
collective, built on checks/diagnose.py) are separate, so every verdict and diagnosis is
unit-tested with plain numbers.
"""
