"""Pure judges by domain: numbers (and the few strings tools print) in, a `Judgement` out.

`base` holds the `Judgement` and what every domain shares; `links`, `rails`, `collective`,
`counters`, `gpu` and `logs` judge one domain each. `sparkctl.checks.diagnose` re-exports
them all for the callers that import it.
"""
