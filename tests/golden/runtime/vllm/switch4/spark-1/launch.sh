#!/usr/bin/env bash
# vllm serving openai/gpt-oss-120b on spark-1 (head), cluster golden (switch4), TP 4 x PP 1.
# Written by sparkctl; regenerate rather than edit.
# Usage: launch.sh start|wait|serve|stop|status
# Lines starting with CHANGED mean something was started or removed (Ansible reads them).
set -euo pipefail
# The launch files sit next to this script (/etc/sparkctl/runtime on the node).
DIR="$(cd "$(dirname "$0")" && pwd)"
CONTAINER=sparkctl-vllm
IMAGE=nvcr.io/nvidia/vllm:26.05-py3
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
    --label "sparkctl.config=$CONFIG_ID" --label sparkctl.runtime=vllm \
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
    ray start --block --head --port=6379 --node-ip-address=10.0.0.11 \
    >/dev/null
  echo "CHANGED started $CONTAINER"
}

wait_ready() {
  # Every node has joined the Ray cluster (alive nodes == 4).
  local deadline=$((SECONDS + ${WAIT_TIMEOUT_S:-600})) alive=0
  while [ "$SECONDS" -lt "$deadline" ]; do
    alive="$(docker exec "$CONTAINER" python3 -c 'import ray; ray.init(address="auto", logging_level="ERROR"); print(sum(1 for n in ray.nodes() if n["Alive"]))' 2>/dev/null | tail -n 1 || true)"
    if [ "$alive" = 4 ]; then
      echo "OK ray cluster has $alive nodes"
      return
    fi
    sleep 5
  done
  echo "ray cluster has ${alive:-0} of 4 nodes after ${WAIT_TIMEOUT_S:-600} s" >&2
  exit 4
}

serve() {
  if docker exec "$CONTAINER" pgrep -f 'vllm serve' >/dev/null; then
    echo "OK server already running"
    return
  fi
  docker exec -d "$CONTAINER" bash -c 'exec "$@" >>/var/log/sparkctl/serve.log 2>&1' serve \
    vllm serve openai/gpt-oss-120b --tensor-parallel-size 4 --distributed-executor-backend ray --host 0.0.0.0 --port 8000
  echo "CHANGED started the server"
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
  echo "ray_nodes=$(docker exec "$CONTAINER" python3 -c 'import ray; ray.init(address="auto", logging_level="ERROR"); print(sum(1 for n in ray.nodes() if n["Alive"]))' 2>/dev/null | tail -n 1 || echo 0)"
  echo "server=$(docker exec "$CONTAINER" pgrep -f 'vllm serve' >/dev/null 2>&1 && echo running || echo absent)"
}

case "${1:-}" in
  start) start ;;
  wait) wait_ready ;;
  serve) serve ;;
  stop) stop ;;
  status) status ;;
  *) echo "usage: $0 start|wait|serve|stop|status" >&2; exit 2 ;;
esac
