#!/usr/bin/env bash
# sshd for mpirun between the TRT-LLM containers (port 2233); written by sparkctl.
set -euo pipefail
if ! command -v sshd >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq openssh-server
fi
mkdir -p /run/sshd /root/.ssh
chmod 700 /root/.ssh
# The cluster key and pinned host keys that the ssh_mesh role gave the login user.
install -m 600 /etc/sparkctl/login-ssh/sparkctl_cluster_ed25519 /root/.ssh/
install -m 644 /etc/sparkctl/login-ssh/sparkctl_known_hosts /root/.ssh/
install -m 600 /etc/sparkctl/login-ssh/authorized_keys /root/.ssh/authorized_keys
install -m 644 /etc/sparkctl/runtime/ssh_config /root/.ssh/config
# Ranks started over ssh get the container's environment (PATH, NCCL_*, the topology's
# interfaces, HF_TOKEN), not sshd's bare default.
env | grep -E '^[A-Za-z_][A-Za-z0-9_]*=' | grep -vE '^(HOME|HOSTNAME|PWD|SHLVL|_)=' \
  > /root/.ssh/environment
chmod 600 /root/.ssh/environment
exec /usr/sbin/sshd -D -e -p 2233 -o ListenAddress=10.0.0.13 \
  -o HostKey=/etc/sparkctl/host-ssh/ssh_host_ed25519_key -o PermitRootLogin=prohibit-password \
  -o PasswordAuthentication=no -o PermitUserEnvironment=yes
