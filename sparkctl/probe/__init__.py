"""Running commands on cluster nodes over SSH (paramiko), in parallel, each bounded in time."""
