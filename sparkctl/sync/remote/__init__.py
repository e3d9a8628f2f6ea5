"""Programs that run on the nodes (python3 standard library only); see ../program.py."""
