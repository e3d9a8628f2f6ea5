"""Running a rendered bundle through ansible-runner: events, progress, run records."""
