#!/usr/bin/env bash
# trtllm serving openai/gpt-oss-120b on spark-2 (worker), cluster golden (switch4), TP 4 x PP 1.
# Written by sparkctl; regenerate rather than edit.
# Usage: launch.sh start|wait|download|serve|stop|status
# Lines starting with CHANGED mean something was started or removed (Ansible reads them).
set -euo pipefail
# The launch files sit next to this script (/etc/sparkctl/runtime on the node).
DIR="$(cd "$(dirname "$0")" && pwd)"
CONTAINER=sparkctl-trtllm
IMAGE=nvcr.io/nvidia/tensorrt-llm/release:1.3.0rc5
LOG_DIR=/var/log/sparkctl/runtime
CONTAINER_LOG_DIR=/var/log/sparkctl
HF_CACHE=/var/cache/sparkctl/huggingface
# HF_TOKEN, when the controller had one: written by the runtime role (mode 0600), not rendered.
SECRETS_ENV="$DIR"/secrets.env
# The RoCE GID index the rdma role measured on this node (NCCL_IB_GID_INDEX).
RDMA_ENV=/etc/sparkctl/rdma.env
# A container started from other launch files is replaced, one from these files is kept.
CONFIG_ID="$({ cat "$DIR"/* "$RDMA_ENV" 2>/dev/null || true; } | sha256sum | cut -c1-16)"

need_docker() {
  command -v docker >/dev/null || { echo "docker is not installed on $(hostname)" >&2; exit 3; }
}

container_state() {
  docker inspect -f '{{ index .Config.Labels "sparkctl.config" }} {{ .State.Running }}' \
    "$CONTAINER" 2>/dev/null || true
}

start_failed() {
  # The container is gone or never got ready: say why, and leave nothing half-started.
  echo "$1" >&2
  echo "--- last lines of docker logs $CONTAINER ---" >&2
  docker logs --tail 30 "$CONTAINER" >&2 2>&1 || true
  docker rm -f "$CONTAINER" >/dev/null 2>&1 || true
  exit 5
}

wait_started() {
  sleep 2
  if [ "$(docker inspect -f '{{ .State.Running }}' "$CONTAINER" 2>/dev/null || echo false)" != true ]; then
    start_failed "container $CONTAINER exited right after it started on $(hostname)"
  fi
}

start() {
  need_docker
  [ -r "$RDMA_ENV" ] || { echo "$RDMA_ENV is missing on $(hostname): provision the cluster first (the rdma role measures the RoCE GID index there)" >&2; exit 3; }
  local state
  state="$(container_state)"
  if [ "$state" = "$CONFIG_ID true" ]; then
    echo "OK $CONTAINER already running"
    return
  fi
  if [ -n "$state" ]; then
    docker rm -f "$CONTAINER" >/dev/null
  fi
  mkdir -p "$LOG_DIR" "$HF_CACHE"
  local env_files=(--env-file "$DIR/runtime.env")
  env_files+=(--env-file "$RDMA_ENV")
  if [ -r "$SECRETS_ENV" ]; then
    env_files+=(--env-file "$SECRETS_ENV")
  fi
  # The login user's ~/.ssh holds the cluster key the ssh_mesh role installed.
  local login_user="${SUDO_USER:-$(id -un)}"
  local login_ssh
  login_ssh="$(getent passwd "$login_user" | cut -d: -f6)/.ssh"
  docker run -d --name "$CONTAINER" \
    --label "sparkctl.config=$CONFIG_ID" --label sparkctl.runtime=trtllm \
    "${env_files[@]}" \
    -v "$login_ssh:/etc/sparkctl/login-ssh:ro" \
    --network host \
    --ipc host \
    --gpus all \
    --device /dev/infiniband \
    --ulimit memlock=-1 \
    -v /var/cache/sparkctl/huggingface:/root/.cache/huggingface \
    -v /etc/sparkctl/runtime:/etc/sparkctl/runtime:ro \
    -v /var/log/sparkctl/runtime:/var/log/sparkctl \
    --ulimit stack=67108864 \
    -v /etc/ssh:/etc/sparkctl/host-ssh:ro \
    "$IMAGE" \
    bash /etc/sparkctl/runtime/trtllm-sshd.sh \
    >/dev/null
  wait_started
  echo "CHANGED started $CONTAINER"
}

wait_ready() {
  echo "OK nothing to wait for"
}

download() {
  echo "OK the engine downloads the model itself"
}

serve() {
  echo "OK the container runs the server itself"
}

stop() {
  if ! command -v docker >/dev/null; then
    echo "OK docker is not installed: nothing to stop"
    return
  fi
  if docker inspect "$CONTAINER" >/dev/null 2>&1; then
    docker rm -f "$CONTAINER" >/dev/null
    echo "CHANGED removed $CONTAINER"
  else
    echo "OK no container $CONTAINER"
  fi
}

status() {
  # key=value lines for `sparkctl runtime status`.
  need_docker
  local state
  state="$(container_state)"
  echo "container=$([ -z "$state" ] && echo absent || { [ "${state#* }" = true ] && echo running || echo stopped; })"
  echo "config_current=$([ "${state% *}" = "$CONFIG_ID" ] && echo yes || echo no)"
}

case "${1:-}" in
  start) start ;;
  wait) wait_ready ;;
  download) download ;;
  serve) serve ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|wait|download|serve|stop|status" >&2; exit 2 ;;
esac
