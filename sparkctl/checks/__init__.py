"""Pure parsers of tool output, expected values, verdicts and diagnoses (no network here)."""
