"""`sparkctl sync`: copy a model directory or container image to every node over the rails."""
