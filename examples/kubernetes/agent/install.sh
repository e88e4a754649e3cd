#!/usr/bin/env bash
# Install the chaos agent (a DaemonSet in namespace chaos-system) into the
# cluster kubectl points at: build the chaos image (FROM scratch around the
# static chaos binary), load it into the project's test cluster, make the
# token Secret when it is missing (a random token; never replaced, so runs
# keep theirs), apply the manifests (kustomization.yaml) and wait until an
# agent is Ready on every node that should run one.
#
#   examples/kubernetes/agent/install.sh up      # build, load, Secret, apply, wait (the default)
#   examples/kubernetes/agent/install.sh build   # only build the image (and load it into the test cluster)
#   examples/kubernetes/agent/install.sh apply   # only the Secret and the manifests (an image of your registry)
#   examples/kubernetes/agent/install.sh down    # delete the DaemonSet (the agents undo what they hold), then the rest
#
# Environment: IMAGE (default chaos-sre/chaos:dev; your registry's for a
# real cluster, pushed by you, with LOAD_IMAGES=0), LOAD_IMAGES=0 skips
# `cluster.sh load-image` (needs root), CHAOS_BIN uses that static chaos
# binary instead of building one. kubectl finds the cluster as usual
# ($KUBECONFIG, else ~/.kube/config).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
image="${IMAGE:-chaos-sre/chaos:dev}"
ns=chaos-system
secret=chaos-agent-token

say() { printf 'install.sh: %s\n' "$*" >&2; }

build() {
  local ctx
  ctx="$(mktemp -d)"
  trap 'rm -rf "$ctx"' RETURN
  if [[ -n "${CHAOS_BIN:-}" ]]; then
    cp "$CHAOS_BIN" "$ctx/chaos"
  else
    (cd "$root" && CGO_ENABLED=0 GOOS=linux go build -trimpath -ldflags='-s -w' -o "$ctx/chaos" ./cmd/chaos)
  fi
  if ! docker build -q -f "$here/Dockerfile" -t "$image" "$ctx" >"$ctx/build.log" 2>&1; then
    cat "$ctx/build.log" >&2
    say "docker build of $image failed"
    return 1
  fi
  say "built $image"
  if [[ "${LOAD_IMAGES:-1}" != 0 ]]; then
    "$root/examples/kubernetes/cluster.sh" load-image "$image"
  fi
}

# token makes the Secret with a random token unless it exists. The token
# goes to kubectl on stdin, never on a command line (ps would show it).
token() {
  kubectl apply -f "$here/namespace.yaml" >/dev/null
  if kubectl -n "$ns" get secret "$secret" >/dev/null 2>&1; then
    say "Secret $ns/$secret exists: kept"
    return 0
  fi
  local tok
  tok="$(od -An -tx1 -N32 /dev/urandom | tr -d ' \n')"
  [[ ${#tok} == 64 ]] || { say "could not read 32 random bytes"; return 1; }
  printf 'apiVersion: v1\nkind: Secret\nmetadata: {name: %s, namespace: %s, labels: {app.kubernetes.io/part-of: chaos}}\ntype: Opaque\nstringData: {token: "%s"}\n' \
    "$secret" "$ns" "$tok" | kubectl create -f - >/dev/null
  say "made Secret $ns/$secret (a random token)"
}

# apply applies the manifests with the image set to $image and waits for
# the rollout.
apply() {
  token
  kubectl kustomize "$here" | sed "s#image: chaos-sre/chaos:dev\$#image: $image#" | kubectl apply -f - >/dev/null
  if ! kubectl -n "$ns" rollout status daemonset/chaos-agent --timeout=120s >/dev/null; then
    kubectl -n "$ns" get pods -o wide >&2
    say "the chaos agents are not Ready after 120 s"
    return 1
  fi
  local n
  n="$(kubectl -n "$ns" get daemonset chaos-agent -o 'jsonpath={.status.numberReady}')"
  say "chaos agent ready on $n node(s) ($image)"
}

down() {
  # the DaemonSet first: each agent undoes what it holds on SIGTERM
  kubectl -n "$ns" delete daemonset chaos-agent --ignore-not-found --wait=true --timeout=90s >/dev/null
  kubectl -n "$ns" wait --for=delete pod -l app.kubernetes.io/name=chaos-agent --timeout=60s >/dev/null 2>&1 || true
  kubectl delete -k "$here" --ignore-not-found --wait=true --timeout=120s >/dev/null
  say "removed the chaos agent and namespace $ns (each node keeps /var/lib/chaos-agent: empty once its agent undid everything)"
}

case "${1:-up}" in
  up)
    # the same tag with a new image: running agents are restarted onto it
    # (each undoes what it holds on SIGTERM)
    existed=0
    if kubectl -n "$ns" get daemonset chaos-agent >/dev/null 2>&1; then existed=1; fi
    build
    apply
    if ((existed)); then
      kubectl -n "$ns" rollout restart daemonset/chaos-agent >/dev/null
      kubectl -n "$ns" rollout status daemonset/chaos-agent --timeout=120s >/dev/null
      say "restarted the chaos agents onto the new image"
    fi
    ;;
  build) build ;;
  apply) apply ;;
  down) down ;;
  *) echo "usage: $0 [up | build | apply | down]" >&2; exit 2 ;;
esac
