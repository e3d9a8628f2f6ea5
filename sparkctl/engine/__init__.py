"""One check engine for `validate` and `health`: the check registry, one time budget, one
scheduler that runs stages in parallel across nodes and cuts them off at the budget's end,
the measurement lock, and what a report means as an exit code.

validate and health are two selections of stages (sparkctl.validate.selection,
sparkctl.health.selection) run by `engine.session.run_stages`; both judge each check with the
one judge the registry names for it.
"""
