"""Cluster topology: the hardware of one Spark, cables, built-in topologies, rules, addresses."""
