"""Reports for people: the terminal summary, the HTML page, terminal width and colour."""
