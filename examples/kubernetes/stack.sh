#!/usr/bin/env bash
# Build the example images (FROM scratch around static Go binaries, the
# Dockerfile of examples/compose), load them into the test cluster and deploy
# the example stack (stack.yaml) into a namespace.
#
#   examples/kubernetes/stack.sh up [VARIANT]   # VARIANT: no-breaker, no-ejection, no-fallback, … (comma list)
#   examples/kubernetes/stack.sh variant VARIANT # the gateway only ("" = the full gateway)
#   examples/kubernetes/stack.sh down            # delete the stack's objects
#   examples/kubernetes/stack.sh build           # build the images and load them into the cluster
#
# kubectl finds the cluster as usual ($KUBECONFIG, else ~/.kube/config; for
# the test cluster: export KUBECONFIG=/var/lib/chaos-k8s/kubeconfig) and the
# namespace from $NAMESPACE, else the kubeconfig context's (else default).
# $NAMESPACE is created when missing. LOAD_IMAGES=0 skips `cluster.sh
# load-image` (a cluster that pulls the images from a registry of yours).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
kubectl=(kubectl)
if [[ -n "${NAMESPACE:-}" ]]; then kubectl+=(--namespace "$NAMESPACE"); fi
images=(chaos-example-model:latest chaos-example-gateway:latest)

build() {
  local ctx
  ctx="$(mktemp -d)"
  trap 'rm -rf "$ctx"' RETURN
  mkdir -p "$ctx/bin"
  for p in model gateway; do
    (cd "$root" && CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o "$ctx/bin/$p" "./examples/cmd/$p")
    docker build -q -f "$root/examples/compose/Dockerfile" --build-arg PROGRAM="$p" -t "chaos-example-$p:latest" "$ctx" >/dev/null
  done
  if [[ "${LOAD_IMAGES:-1}" != 0 ]]; then
    "$here/cluster.sh" load-image "${images[@]}"
  fi
}

# deploy applies stack.yaml with GATEWAY_VARIANT set to $1 and waits until
# every workload is rolled out and the gateway answers from a primary.
deploy() {
  local variant="$1"
  if [[ -n "${NAMESPACE:-}" ]] && ! kubectl get namespace "$NAMESPACE" >/dev/null 2>&1; then
    kubectl create namespace "$NAMESPACE" >/dev/null
  fi
  # The line after "name: GATEWAY_VARIANT" carries its value.
  awk -v v="$variant" 'set { sub(/value: "[^"]*"/, "value: \"" v "\""); set = 0 }
    /name: GATEWAY_VARIANT/ { set = 1 } { print }' "$here/stack.yaml" | "${kubectl[@]}" apply -f - >/dev/null
  for w in statefulset/model-primary deployment/model-fallback deployment/gateway; do
    "${kubectl[@]}" rollout status "$w" --timeout=120s >/dev/null
  done
  # The gateway's pod is ready; wait until it also answers through its
  # Service from here (kube-proxy's rules follow the endpoints a moment
  # later), with a primary: 10 answers in a row, none degraded.
  local ip port ok=0
  ip=$("${kubectl[@]}" get service gateway -o 'jsonpath={.spec.clusterIP}')
  port=$("${kubectl[@]}" get service gateway -o 'jsonpath={.spec.ports[0].port}')
  for _ in $(seq 300); do
    if answers "$ip" "$port"; then ok=$((ok + 1)); else ok=0; fi
    if ((ok >= 10)); then
      local ns="${NAMESPACE:-$(kubectl config view --minify -o 'jsonpath={..namespace}')}"
      echo "stack is up in namespace ${ns:-default} (gateway variant: ${variant:-none}):"
      echo "  gateway http://$ip:$port"
      return 0
    fi
    sleep 0.2
  done
  echo "stack.sh: the gateway at http://$ip:$port did not answer 10 chat requests in a row from a primary within 60s" >&2
  "${kubectl[@]}" get pods -o wide >&2
  return 1
}

# answers IP PORT: one chat completion through the gateway (bash's
# /dev/tcp: no curl in the way) is answered 200 by a primary (not degraded).
answers() {
  local body='{"model":"primary","max_tokens":2,"messages":[{"role":"user","content":"hi"}]}' reply
  # shellcheck disable=SC2016 # $1 $2 $3 are the inner bash's arguments
  reply=$(timeout 3 bash -c 'exec 3<>"/dev/tcp/$1/$2" || exit 1
    printf "POST /v1/chat/completions HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s" "${#3}" "$3" >&3
    cat <&3' _ "$1" "$2" "$body" 2>/dev/null) || return 1
  [[ $reply =~ ^HTTP/1\.[01]\ 200 && $reply == *$'X-Degraded: false\r'* ]]
}

case "${1:-}" in
  build) build ;;
  up)
    build
    deploy "${2:-}"
    ;;
  variant)
    [[ $# == 2 ]] || { echo "usage: $0 variant VARIANT (\"\" = the full gateway)" >&2; exit 2; }
    deploy "$2"
    ;;
  down) "${kubectl[@]}" delete -f "$here/stack.yaml" --ignore-not-found --wait=true >/dev/null ;;
  *) echo "usage: $0 up [VARIANT] | variant VARIANT | down | build" >&2; exit 2 ;;
esac
