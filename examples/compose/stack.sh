#!/usr/bin/env bash
# Build the example images (FROM scratch around static Go binaries) and bring
# the compose stack up or down.
#
#   examples/compose/stack.sh up [VARIANT]   # VARIANT: no-breaker, no-ejection, no-fallback, … (comma list)
#   examples/compose/stack.sh down
#   examples/compose/stack.sh build
#
# Environment: COMPOSE_PROJECT_NAME (default compose), GATEWAY_PORT (default 18080).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
cd "$here"
export COMPOSE_PROJECT_NAME="${COMPOSE_PROJECT_NAME:-compose}"
export GATEWAY_PORT="${GATEWAY_PORT:-18080}"
compose=(docker-compose -f "$here/docker-compose.yml" -p "$COMPOSE_PROJECT_NAME")

build() {
  mkdir -p bin
  for p in model gateway; do
    (cd ../.. && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$here/bin/$p" "./examples/cmd/$p")
    docker build -q --build-arg PROGRAM="$p" -t "chaos-example-$p:latest" . >/dev/null
  done
}

case "${1:-}" in
  build) build ;;
  up)
    export GATEWAY_VARIANT="${2:-${GATEWAY_VARIANT:-}}"
    build
    "${compose[@]}" up -d --no-build --force-recreate --remove-orphans
    for _ in $(seq 60); do
      if bin/gateway healthcheck "http://127.0.0.1:$GATEWAY_PORT/healthz" >/dev/null 2>&1; then
        echo "stack $COMPOSE_PROJECT_NAME is up: gateway http://127.0.0.1:$GATEWAY_PORT (variant: ${GATEWAY_VARIANT:-none})"
        exit 0
      fi
      sleep 0.5
    done
    echo "stack $COMPOSE_PROJECT_NAME: the gateway did not answer on port $GATEWAY_PORT within 30s" >&2
    "${compose[@]}" ps >&2
    exit 1
    ;;
  down) "${compose[@]}" down -v --remove-orphans ;;
  *) echo "usage: $0 up [VARIANT] | down | build" >&2; exit 2 ;;
esac
