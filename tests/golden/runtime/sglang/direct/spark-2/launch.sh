#!/usr/bin/env bash
# sglang serving openai/gpt-oss-120b on spark-2 (worker), cluster golden (direct), TP 2 x PP 1.
# Written by sparkctl; regenerate rather than edit.
# Usage: launch.sh start|wait|serve|stop|status
# Lines starting with CHANGED mean something was started or removed (Ansible reads them).
set -euo pipefail
# The launch files sit next to this script (/etc/sparkctl/runtime on the node).
DIR="$(cd "$(dirname "$0")" && pwd)"
CONTAINER=sparkctl-sglang
IMAGE=registry.example/sglang:pinned
LOG_DIR=/var/log/sparkctl/runtime
# A container started from other launch files is replaced, one from these files is kept.
CONFIG_ID="$(cat "$DIR"/* | sha256sum | cut -c1-16)"

need_docker() {
  command -v docker >/dev/null || { echo "docker is not installed on $(hostname)" >&2; exit 3; }
}

container_state() {
  docker inspect -f '{{ index .Config.Labels "sparkctl.config" }} {{ .State.Running }}' \
    "$CONTAINER" 2>/dev/null || true
}

start() {
  need_docker
  local state
  state="$(container_state)"
  if [ "$state" = "$CONFIG_ID true" ]; then
    echo "OK $CONTAINER already running"
    return
  fi
  if [ -n "$state" ]; then
    docker rm -f "$CONTAINER" >/dev/null
  fi
  mkdir -p "$LOG_DIR" /var/cache/sparkctl/huggingface
  docker run -d --name "$CONTAINER" \
    --label "sparkctl.config=$CONFIG_ID" --label sparkctl.runtime=sglang \
    --env-file "$DIR/runtime.env" \
    --network host \
    --ipc host \
    --gpus all \
    --device /dev/infiniband \
    --ulimit memlock=-1 \
    -v /var/cache/sparkctl/huggingface:/root/.cache/huggingface \
    -v /etc/sparkctl/runtime:/etc/sparkctl/runtime:ro \
    -v /var/log/sparkctl/runtime:/var/log/sparkctl \
    "$IMAGE" \
    python3 -m sglang.launch_server --model-path openai/gpt-oss-120b --tp-size 2 --nnodes 2 --node-rank 1 --dist-init-addr 10.0.0.11:20000 --host 0.0.0.0 --port 30000 \
    >/dev/null
  echo "CHANGED started $CONTAINER"
}

wait_ready() {
  echo "OK nothing to wait for"
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
  serve) serve ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|wait|serve|stop|status" >&2; exit 2 ;;
esac
