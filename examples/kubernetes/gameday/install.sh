#!/usr/bin/env bash
# Game-days as a CronJob in the stack's namespace: the suite (suite.yaml) and
# the Kubernetes experiments into ConfigMaps, the ServiceAccount's
# RoleBindings (to the ClusterRoles of ../agent/rbac.yaml: chaos-experimenter
# here, chaos-agent-caller in chaos-system), and the CronJob (cronjob.yaml).
# The chaos agent and its image must be installed first (../agent/install.sh).
#
#   examples/kubernetes/gameday/install.sh up     # install or update (the suite is read again at every run)
#   examples/kubernetes/gameday/install.sh run    # a game-day now: a Job from the CronJob; waits, prints its log, exits with its verdict
#   examples/kubernetes/gameday/install.sh down   # remove it (the history stays on its volume)
#
# kubectl finds the cluster as usual ($KUBECONFIG, else ~/.kube/config) and
# the namespace from $NAMESPACE, else the kubeconfig context's (else default).
# IMAGE sets the chaos image (default chaos-sre/chaos:dev).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
image="${IMAGE:-chaos-sre/chaos:dev}"
ns="${NAMESPACE:-$(kubectl config view --minify -o 'jsonpath={..namespace}')}"
ns="${ns:-default}"
kc=(kubectl --namespace "$ns")

say() { printf 'install.sh: %s\n' "$*" >&2; }

# configmap NAME FILE|DIR: a ConfigMap of the files, made or replaced.
configmap() {
  "${kc[@]}" create configmap "$1" --from-file="$2" --dry-run=client -o yaml |
    "${kc[@]}" apply -f - >/dev/null
}

# rolebinding NAMESPACE NAME CLUSTERROLE: the ServiceAccount bound there.
rolebinding() {
  kubectl --namespace "$1" create rolebinding "$2" --clusterrole="$3" \
    --serviceaccount="$ns:chaos-gameday" --dry-run=client -o yaml | kubectl apply -f - >/dev/null
}

up() {
  if ! kubectl get clusterrole chaos-experimenter chaos-agent-caller >/dev/null 2>&1; then
    say "the ClusterRoles chaos-experimenter and chaos-agent-caller are missing: install the chaos agent first (examples/kubernetes/agent/install.sh)"
    return 1
  fi
  configmap chaos-gameday-suite "$here/suite.yaml"
  configmap chaos-gameday-experiments "$root/examples/experiments/kubernetes"
  sed "s#image: chaos-sre/chaos:dev\$#image: $image#" "$here/cronjob.yaml" | "${kc[@]}" apply -f - >/dev/null
  rolebinding "$ns" chaos-gameday chaos-experimenter
  rolebinding chaos-system "chaos-gameday-$ns" chaos-agent-caller
  say "game-day CronJob installed in namespace $ns ($("${kc[@]}" get cronjob chaos-gameday -o 'jsonpath={.spec.schedule}'), history in /var/lib/chaos-gameday/$ns on the node)"
}

# run starts a Job from the CronJob, waits for it (up to an hour, the
# Job's own deadline), prints its log and exits 0 when it completed.
run() {
  local job
  job="chaos-gameday-manual-$(date +%s)"
  "${kc[@]}" create job --from=cronjob/chaos-gameday "$job" >/dev/null
  say "started Job $job"
  local state=""
  for _ in $(seq 3600); do
    state="$("${kc[@]}" get job "$job" -o 'jsonpath={range .status.conditions[?(@.status=="True")]}{.type} {end}')"
    [[ $state == *Complete* || $state == *Failed* ]] && break
    sleep 1
  done
  "${kc[@]}" logs "job/$job" || true
  say "Job $job: ${state:-still running}"
  [[ $state == *Complete* ]]
}

down() {
  "${kc[@]}" delete -f "$here/cronjob.yaml" --ignore-not-found --wait=true --timeout=120s >/dev/null
  "${kc[@]}" delete configmap chaos-gameday-suite chaos-gameday-experiments --ignore-not-found >/dev/null
  "${kc[@]}" delete rolebinding chaos-gameday --ignore-not-found >/dev/null
  kubectl --namespace chaos-system delete rolebinding "chaos-gameday-$ns" --ignore-not-found >/dev/null
  say "removed the game-day CronJob from namespace $ns (its history stays on its volume)"
}

case "${1:-up}" in
  up) up ;;
  run) run ;;
  down) down ;;
  *) echo "usage: $0 [up | run | down]" >&2; exit 2 ;;
esac
