#!/usr/bin/env bash
# vllm serving openai/gpt-oss-120b on spark-3 (worker), cluster golden (ring3), TP 1 x PP 3.
# Written by sparkctl; regenerate rather than edit.
# Usage: launch.sh start|wait|download|serve|stop|status
# Lines starting with CHANGED mean something was started or removed (Ansible reads them).
set -euo pipefail
# The launch files sit next to this script (/etc/sparkctl/runtime on the node).
DIR="$(cd "$(dirname "$0")" && pwd)"
CONTAINER=sparkctl-vllm
IMAGE=nvcr.io/nvidia/vllm:26.05-py3
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
  # `ray start --block` keeps the container up; the raylet's socket in Ray's session
  # directory means Ray started. A missing Ray that pip cannot install ends the container.
  local deadline=$((SECONDS + ${RAY_START_TIMEOUT_S:-300}))
  while [ "$SECONDS" -lt "$deadline" ]; do
    if [ "$(docker inspect -f '{{ .State.Running }}' "$CONTAINER" 2>/dev/null || echo false)" != true ]; then
      start_failed "ray start failed on $(hostname): container $CONTAINER exited (image $IMAGE needs ray[default]>=2.9, or pip access to install it)"
    fi
    if docker exec "$CONTAINER" test -S /tmp/ray/session_latest/sockets/raylet 2>/dev/null; then
      return
    fi
    sleep 2
  done
  start_failed "ray did not start in $CONTAINER on $(hostname) within ${RAY_START_TIMEOUT_S:-300} s"
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
  docker run -d --name "$CONTAINER" \
    --label "sparkctl.config=$CONFIG_ID" --label sparkctl.runtime=vllm \
    "${env_files[@]}" \
    --network host \
    --shm-size 10.24g \
    --gpus all \
    --device /dev/infiniband \
    --ulimit memlock=-1 \
    -v /var/cache/sparkctl/huggingface:/root/.cache/huggingface \
    -v /etc/sparkctl/runtime:/etc/sparkctl/runtime:ro \
    -v /var/log/sparkctl/runtime:/var/log/sparkctl \
    --entrypoint /bin/bash \
    "$IMAGE" \
    -c 'command -v ray >/dev/null 2>&1 || pip install -q --root-user-action=ignore "ray[default]>=2.9" || { echo "sparkctl: this image has no ray and pip could not install ray[default]>=2.9" >&2; exit 97; }; exec ray start --block --address=10.0.0.11:6379 --node-ip-address=10.0.0.13' \
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
