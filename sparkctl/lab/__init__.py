"""Simulated DGX Spark clusters on one Linux machine: systemd nodes (systemd-nspawn) with
DGX OS's network stack (NetworkManager, netplan) in network namespaces, overlay roots, sshd.

The lab is only one more target: it writes an ordinary inventory with `sparkctl_platform: lab`
and every later command reaches its nodes over SSH exactly as it reaches real Sparks.
"""
