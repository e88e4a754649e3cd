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
# every workload is rolled out and ready.
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
  # Recreate: the old gateway pod may still be terminating; wait until only
  # the new one is left behind the Service.
  for _ in $(seq 60); do
    if [[ "$("${kubectl[@]}" get pods -l app.kubernetes.io/name=gateway -o name | wc -l)" == 1 ]]; then
      local ns="${NAMESPACE:-$(kubectl config view --minify -o 'jsonpath={..namespace}')}"
      echo "stack is up in namespace ${ns:-default} (gateway variant: ${variant:-none}):"
      "${kubectl[@]}" get service gateway -o 'jsonpath=  gateway http://{.spec.clusterIP}:{.spec.ports[0].port}{"\n"}'
      return 0
    fi
    sleep 0.5
  done
  echo "stack.sh: more than one gateway pod 30s after the rollout" >&2
  "${kubectl[@]}" get pods -o wide >&2
  return 1
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
