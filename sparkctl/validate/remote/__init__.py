"""Programs `validate` runs on the nodes (python3 stdlib only; mpi4py for the CPU all-reduce).

They run on the node's own interpreter, which may be older than the controller's, so they
stay plain Python 3.8+ and print JSON for the controller to judge.
"""
