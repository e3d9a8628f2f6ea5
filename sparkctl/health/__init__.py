"""Health runs for cron: bounded probes, history (SQLite), regressions, exporters, timers."""
