#!/usr/bin/env bash
# cluster.sh: the project's single-node test Kubernetes (v1.37.2, one real
# node plus kwok for fake nodes), built from the Go module proxy and Debian
# packages alone; no image is pulled. Needs root, Docker and Go.
#
#   cluster.sh up                 build (cached), start, wait for a Ready node
#                                 and a Running smoke pod; idempotent
#   cluster.sh down               stop everything, leave the host as before
#   cluster.sh status             what runs; exit 0 up, 3 down, 1 partly up
#   cluster.sh kubeconfig         print the kubeconfig path (exit 1 when down)
#   cluster.sh load-image IMG...  copy Docker images into the node's containerd
#   cluster.sh build              only build the binaries into the cache
#   cluster.sh reclaim            bring down a cluster left by a killed holder
#                                 (see CHAOS_K8S_HOLDER); wait while it lives
#   cluster.sh snapshot FILE      record the host state the cluster touches
#   cluster.sh check-clean FILE   compare the host with FILE (after down)
#
# Environment: CHAOS_K8S_DIR (state, default /var/lib/chaos-k8s; the
# kubeconfig is $CHAOS_K8S_DIR/kubeconfig), CHAOS_K8S_CACHE (binaries,
# default ~/.cache/chaos-k8s), CHAOS_K8S_API_PORT (16443),
# CHAOS_K8S_ETCD_PORT (12379, and +1 for peers), CHAOS_K8S_HOLDER (the
# pid of a run that brings the cluster up and down around its own work, as
# .ci/run does: up records it, and reclaim knows a cluster whose holder is
# gone was left by a killed run), CHAOS_K8S_RECLAIM_WAIT (how long reclaim
# waits for a live holder, seconds, default 3600).
#
# For test writers: node "chaos-k8s-node"; pods on bridge chaos-k8s0 in
# 10.244.0.0/24 (cluster CIDR 10.244.0.0/16); Services in 10.96.0.0/16,
# reachable from the host and from pods (kube-proxy, nftables mode); no
# cluster DNS. The API listens on 10.244.0.1:16443 only (the bridge's own
# address, the pods' gateway: up makes the bridge first), and the
# "kubernetes" Service (10.96.0.1:443) has an EndpointSlice to it that up
# writes (the endpoint reconciler is off), so a pod reaches the API with its
# in-cluster config (ServiceAccount token). Nothing can be pulled: load
# images with `cluster.sh load-image gateway:dev` and set imagePullPolicy:
# Never (or IfNotPresent with a tag other than latest). chaos-k8s/pause:1
# (./pause) is always there: it waits for SIGTERM, serves HTTP with
# -listen :8080, fetches a URL with -get URL (every D with -every D, a line
# per fetch with its latency: a probe). kwok runs the nodes annotated
# kwok.x-k8s.io/node=fake (give them the taint
# kwok.x-k8s.io/node=fake:NoSchedule so real pods stay off, and a label of
# your own to select them); their pods get IPs from 10.245.0.0/16.
set -euo pipefail

K8S_VERSION=v1.37.2
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
CACHE_ROOT=${CHAOS_K8S_CACHE:-${HOME:-/root}/.cache/chaos-k8s}
CACHE=$CACHE_ROOT/$K8S_VERSION
D=${CHAOS_K8S_DIR:-/var/lib/chaos-k8s}
D=${D%/}
if [[ $D != /[!/]* || $D == *..* ]]; then
  echo "cluster.sh: CHAOS_K8S_DIR must be an absolute path below / (is '$D')" >&2
  exit 1
fi
BINS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy)

NODE=chaos-k8s-node
API_PORT=${CHAOS_K8S_API_PORT:-16443}
ETCD_PORT=${CHAOS_K8S_ETCD_PORT:-12379}
ETCD_PEER_PORT=$((ETCD_PORT + 1))
BRIDGE=chaos-k8s0
POD_SUBNET=10.244.0.0/24
# The bridge's own address (the pods' gateway, the one the CNI bridge
# plugin would give it): the API listens there, for the host and the pods.
API_IP=10.244.0.1
API_PREFIX=24
CLUSTER_CIDR=10.244.0.0/16
SERVICE_CIDR=10.96.0.0/16
SERVICE_API_IP=10.96.0.1
KWOK_POD_CIDR=10.245.0.0/16
KWOK_NODE_IP=10.246.0.1
PAUSE_IMAGE=chaos-k8s/pause:1
FWD_CHAIN=CHAOS-K8S-FORWARD
# The sysctls the kubelet sets at start (setupKernelTunables); up saves them
# before the kubelet starts and down restores them.
SYSCTLS=(kernel.panic kernel.panic_on_oops vm.overcommit_memory vm.panic_on_oom kernel.keys.root_maxkeys kernel.keys.root_maxbytes)
# Daemons in start order; down stops them in reverse.
DAEMONS=(etcd containerd kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kwok)
# Fixed paths outside the state folder that the daemons write to: the
# kubelet's container log links and device-plugin socket, libcni's result
# cache (containerd), the shims' sockets (containerd 1.6 puts them in
# /run/containerd/s whatever its state folder). up records which of them it
# creates; down empties them of ours and removes those it created.
HOST_PATHS=(/var/log/containers /var/lib/kubelet /var/lib/cni /run/containerd)

say() { printf 'cluster.sh: %s\n' "$*" >&2; }
die() {
  say "error: $*"
  exit 1
}

need_root() { ((EUID == 0)) || die "$1 needs root"; }

# ---------------------------------------------------------------- build

# cmd_build: the five Kubernetes binaries and kwok from ./build in one go
# build: kwok is a tool of that module too, so it links against the same
# k8s.io libraries and the dependencies all six share compile once (kwok
# installed on its own compiled its own client-go and friends beside them:
# ~5 of the cold build's minutes). Into $CACHE, moved in only when complete.
cmd_build() {
  local missing=() b
  # one build at a time: a second one (an up while CI's build runs) waits
  # and then finds the binaries in the cache
  mkdir -p "$CACHE_ROOT"
  exec 8>"$CACHE_ROOT/.build.lock"
  if ! flock -n 8; then
    say "waiting for another build into $CACHE to finish"
    flock 8
  fi
  for b in "${BINS[@]}" kwok; do [[ -x $CACHE/$b ]] || missing+=("$b"); done
  [[ -s $CACHE/kwok-stages.yaml ]] || missing+=(kwok-stages.yaml)
  if ((${#missing[@]} == 0)); then
    exec 8>&-
    say "binaries cached in $CACHE"
    return 0
  fi
  command -v go >/dev/null || die "go is needed to build ${missing[*]}"
  mkdir -p "$CACHE"
  local tmp start=$SECONDS
  tmp=$(mktemp -d "$CACHE/.build.XXXXXX")
  say "building ${missing[*]} into $CACHE (cold: ~14 min on 2 cores; logs in $tmp)"
  local pkgs=()
  for b in "${BINS[@]}"; do [[ -x $CACHE/$b ]] || pkgs+=("k8s.io/kubernetes/cmd/$b"); done
  [[ -x $CACHE/kwok ]] || pkgs+=(sigs.k8s.io/kwok/cmd/kwok)
  local v=k8s.io/component-base/version
  local ldflags="-s -w -X $v.gitVersion=$K8S_VERSION -X $v.gitMajor=1 -X $v.gitMinor=37 -X $v.gitTreeState=clean"
  local rc=0
  (
    cd "$HERE/build"
    export GOFLAGS=-buildvcs=false CGO_ENABLED=0
    if ((${#pkgs[@]})); then
      go build -ldflags "$ldflags" -o "$tmp/" "${pkgs[@]}"
    fi
    # kwok without kwokctl needs its stages in a config file: the default
    # ones (node-fast, heartbeat with lease, pod-fast) from its module.
    dir=$(go list -m -f '{{.Dir}}' sigs.k8s.io/kwok)
    [[ -d $dir ]] || { echo "kwok module folder not found" >&2; exit 1; }
    for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
      pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
      echo ---
      cat "$dir/kustomize/stage/$f"
    done >"$tmp/kwok-stages.yaml"
  ) >"$tmp/build.log" 2>&1 || rc=$?
  if ((rc)); then
    cat "$tmp/build.log" >&2
    die "build failed (logs in $tmp)"
  fi
  for b in "${BINS[@]}" kwok kwok-stages.yaml; do
    if [[ -e $tmp/$b ]]; then mv -f "$tmp/$b" "$CACHE/$b"; fi
  done
  rm -rf "$tmp"
  exec 8>&-
  say "built ${missing[*]} in $((SECONDS - start)) s"
}

# ---------------------------------------------------------------- packages

# ensure_packages installs the Debian packages that are missing (etcd,
# containerd, runc, CNI plugins, nft), waiting for another apt to finish.
ensure_packages() {
  local need=()
  [[ -x /usr/bin/etcd ]] || need+=(etcd-server)
  command -v containerd >/dev/null && command -v ctr >/dev/null || need+=(containerd)
  command -v runc >/dev/null || need+=(runc)
  [[ -x /usr/lib/cni/bridge && -x /usr/lib/cni/loopback && -x /usr/lib/cni/host-local ]] || need+=(containernetworking-plugins)
  command -v nft >/dev/null || need+=(nftables)
  command -v iptables >/dev/null || need+=(iptables)
  command -v openssl >/dev/null || need+=(openssl)
  command -v curl >/dev/null || need+=(curl)
  ((${#need[@]})) || return 0
  say "installing ${need[*]}"
  local apt=(apt-get -o DPkg::Lock::Timeout=600 -y -qq)
  if ! DEBIAN_FRONTEND=noninteractive "${apt[@]}" install "${need[@]}" >/dev/null; then
    "${apt[@]}" update >/dev/null
    DEBIAN_FRONTEND=noninteractive "${apt[@]}" install "${need[@]}" >/dev/null || die "apt-get install ${need[*]} failed"
  fi
}

# ---------------------------------------------------------------- processes

# start_time PID prints the process's start time in clock ticks since boot
# (field 22 of /proc/PID/stat), so a pid file never names a reused pid; it
# fails for a process that is gone or a zombie.
start_time() {
  local stat fields
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  read -ra fields <<<"${stat##*) }"
  [[ ${fields[0]} != Z ]] || return 1
  echo "${fields[19]}"
}

# live_pid FILE prints the pid of a "PID STARTTIME" file (start, up's
# holder) when that process still runs.
live_pid() {
  local pid st
  [[ -r $1 ]] || return 1
  read -r pid st <"$1" || return 1
  [[ -n ${pid:-} && $(start_time "$pid" 2>/dev/null) == "${st:-}" ]] || return 1
  echo "$pid"
}

# alive NAME: the daemon of pid file $D/run/NAME.pid still runs.
alive() { live_pid "$D/run/$1.pid" >/dev/null; }

# describe PID: the pid and its command line, for messages.
describe() { echo "pid $1 ($(tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | sed 's/ $//'))"; }

# start NAME ARGV...: run a daemon in its own session, its output to
# $D/log/NAME.log, its pid and start time to $D/run/NAME.pid.
start() {
  local name=$1
  shift
  if alive "$name"; then return 0; fi
  say "starting $name"
  # not holding the lock files (fds 8, 9) open: a later down would wait
  setsid "$@" </dev/null >>"$D/log/$name.log" 2>&1 8>&- 9>&- &
  local pid=$!
  echo "$pid $(start_time "$pid")" >"$D/run/$name.pid"
}

# stop NAME [SECONDS]: SIGTERM, up to SECONDS (15), then SIGKILL; by pid
# file only.
stop() {
  local name=$1 f=$D/run/$1.pid secs=${2:-15} pid st i
  [[ -r $f ]] || return 0
  read -r pid st <"$f" || true
  if [[ -n ${pid:-} && $(start_time "$pid" 2>/dev/null) == "${st:-}" ]]; then
    say "stopping $name (pid $pid)"
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < secs * 10; i++)); do
      [[ $(start_time "$pid" 2>/dev/null) == "$st" ]] || break
      sleep 0.1
    done
    ((i < 20)) || say "$name took $((i / 10)) s to stop"
    if [[ $(start_time "$pid" 2>/dev/null) == "$st" ]]; then
      say "$name did not stop in $secs s: SIGKILL"
      kill -KILL "$pid" 2>/dev/null || true
      sleep 0.2
    fi
  fi
  rm -f "$f"
}

# ---------------------------------------------------------------- holder
# A run that brings the cluster up and down around its own work (.ci/run)
# names itself with CHAOS_K8S_HOLDER=PID; up records that pid and its start
# time in $D/holder. A run killed before its down leaves the cluster up, and
# the next run must not take that cluster's state for the host's own (its
# snapshot, then its down, would differ): reclaim brings down a cluster
# whose holder is gone, waits while the holder lives, and refuses a cluster
# brought up by hand (no holder recorded): that one is someone's.

live_holder() { live_pid "$D/holder"; }

# take_holder records CHAOS_K8S_HOLDER as the holder (up runs it under the
# lock); it refuses when another live run holds the cluster.
take_holder() {
  [[ -n ${CHAOS_K8S_HOLDER:-} ]] || return 0
  local h st
  if h=$(live_holder) && [[ $h != "$CHAOS_K8S_HOLDER" ]]; then
    die "the cluster is held by $(describe "$h"): wait for it, or cluster.sh reclaim"
  fi
  st=$(start_time "$CHAOS_K8S_HOLDER") || die "CHAOS_K8S_HOLDER=$CHAOS_K8S_HOLDER: no such process"
  echo "$CHAOS_K8S_HOLDER $st" >"$D/holder.tmp"
  mv "$D/holder.tmp" "$D/holder"
}

# any_alive: a daemon of the cluster still runs.
any_alive() {
  local d
  for d in "${DAEMONS[@]}"; do alive "$d" && return 0; done
  return 1
}

cmd_reclaim() {
  need_root reclaim
  local h said= t0=$SECONDS wait=${CHAOS_K8S_RECLAIM_WAIT:-3600}
  while :; do
    [[ -e $D/.chaos-k8s ]] || return 0
    if h=$(live_holder); then
      [[ $h == "${CHAOS_K8S_HOLDER:-}" ]] && return 0
      [[ -n $said ]] || say "the cluster is held by $(describe "$h"); waiting up to $wait s for it to finish"
      said=1
      ((SECONDS - t0 < wait)) || die "the cluster is still held by pid $h after $wait s"
      sleep 1
      continue
    fi
    # the lock after the wait: the holder's own down takes it
    mkdir -p "$CACHE_ROOT"
    exec 9>"$CACHE_ROOT/.lock"
    flock 9
    live_holder >/dev/null || break
    exec 9>&-
  done
  [[ -e $D/.chaos-k8s ]] || return 0
  if [[ -r $D/holder ]]; then
    say "bringing down the cluster left by a run that is gone (holder $(cut -d' ' -f1 "$D/holder"))"
  elif any_alive; then
    die "a cluster is up that no run holds (brought up by hand?): cluster.sh down, then run again"
  else
    say "clearing what a stopped cluster left in $D"
  fi
  cmd_down
}

# wait_for WHAT SECONDS DAEMON CMD...: retry CMD every half second; on
# timeout (or when DAEMON died) show DAEMON's log and fail.
wait_for() {
  local what=$1 secs=$2 daemon=$3 i
  shift 3
  for ((i = 0; i < secs * 2; i++)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    if [[ -n $daemon ]] && ! alive "$daemon"; then
      tail -n 40 "$D/log/$daemon.log" >&2 || true
      die "$daemon exited while waiting for $what (log $D/log/$daemon.log)"
    fi
    sleep 0.5
  done
  if [[ -n $daemon ]]; then tail -n 40 "$D/log/$daemon.log" >&2 || true; fi
  die "timed out after $secs s waiting for $what${daemon:+ (log $D/log/$daemon.log)}"
}

# ---------------------------------------------------------------- networks

ip2int() {
  local a b c d
  IFS=. read -r a b c d <<<"$1"
  echo $(((a << 24) | (b << 16) | (c << 8) | d))
}

# overlaps A/N B/M: the two CIDRs share an address.
overlaps() {
  local a=${1%/*} am=${1#*/} b=${2%/*} bm=${2#*/}
  [[ $1 == */* ]] || am=32
  [[ $2 == */* ]] || bm=32
  local m=$((am < bm ? am : bm))
  local mask=$(((0xffffffff << (32 - m)) & 0xffffffff))
  (($(($(ip2int "$a") & mask)) == $(($(ip2int "$b") & mask))))
}

# check_ranges refuses to start when a route or a Docker network already
# uses one of our address ranges.
check_ranges() {
  local used=() r n
  while read -r r _ dev _; do
    [[ $r == default ]] && continue
    [[ $r =~ ^[0-9.]+(/[0-9]+)?$ ]] || continue
    [[ $dev == "$BRIDGE" ]] && continue
    used+=("$r")
  done < <(ip -4 route show table all | awk '{d="";for(i=1;i<=NF;i++)if($i=="dev")d=$(i+1); print $1, "dev", d}')
  if command -v docker >/dev/null; then
    local nets=()
    mapfile -t nets < <(docker network ls -q 2>/dev/null)
    if ((${#nets[@]})); then
      while read -r n; do
        [[ -n $n ]] && used+=("$n")
      done < <(docker network inspect --format '{{range .IPAM.Config}}{{.Subnet}} {{end}}' "${nets[@]}" 2>/dev/null | tr ' ' '\n' | grep -E '^[0-9.]+/[0-9]+$' || true)
    fi
  fi
  for n in "$CLUSTER_CIDR" "$SERVICE_CIDR" "$KWOK_POD_CIDR" "$KWOK_NODE_IP/32"; do
    for r in "${used[@]}"; do
      if overlaps "$n" "$r"; then die "$n (ours) overlaps $r (a route or Docker network on this host)"; fi
    done
  done
}

# ---------------------------------------------------------------- certificates

# cert NAME CN [O] [SANS]: a P-256 key and a certificate signed by our CA.
cert() {
  local name=$1 cn=$2 o=${3:-} sans=${4:-} p=$D/pki
  [[ -s $p/$name.crt ]] && return 0
  local subj="/CN=$cn"
  [[ -n $o ]] && subj="/O=$o$subj"
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$p/$name.key" -subj "$subj" -out "$p/$name.csr" 2>/dev/null
  {
    echo "basicConstraints=critical,CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    if [[ -n $sans ]]; then
      echo "extendedKeyUsage=serverAuth,clientAuth"
      echo "subjectAltName=$sans"
    else
      echo "extendedKeyUsage=clientAuth"
    fi
  } >"$p/$name.ext"
  openssl x509 -req -in "$p/$name.csr" -CA "$p/ca.crt" -CAkey "$p/ca.key" -CAcreateserial \
    -days 3650 -sha256 -extfile "$p/$name.ext" -out "$p/$name.crt" 2>/dev/null
  rm -f "$p/$name.csr" "$p/$name.ext"
}

# kubeconfig FILE CERTNAME: a kubeconfig for the API with a client cert
# (rewritten only when it changes: another address or certificate).
kubeconfig() {
  local p=$D/pki
  put "$1" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: chaos-k8s
  cluster:
    server: https://$API_IP:$API_PORT
    certificate-authority-data: $(base64 -w0 "$p/ca.crt")
users:
- name: $2
  user:
    client-certificate-data: $(base64 -w0 "$p/$2.crt")
    client-key-data: $(base64 -w0 "$p/$2.key")
contexts:
- name: chaos-k8s
  context: {cluster: chaos-k8s, user: $2}
current-context: chaos-k8s
EOF
}

make_pki() {
  local p=$D/pki
  mkdir -p "$p"
  chmod 700 "$p"
  if [[ ! -s $p/ca.crt ]]; then
    say "making certificates"
    openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
      -keyout "$p/ca.key" -subj "/CN=chaos-k8s-ca" -days 3650 -out "$p/ca.crt" 2>/dev/null
  fi
  [[ -s $p/sa.key ]] || openssl ecparam -name prime256v1 -genkey -noout -out "$p/sa.key" 2>/dev/null
  [[ -s $p/sa.pub ]] || openssl ec -in "$p/sa.key" -pubout -out "$p/sa.pub" 2>/dev/null
  # a serving certificate of an older cluster.sh (the API on 127.0.0.1
  # only) is made again
  if [[ -s $p/apiserver.crt ]] && ! openssl x509 -in "$p/apiserver.crt" -noout -ext subjectAltName 2>/dev/null | grep -qE "IP Address:$API_IP(,|$)"; then
    say "the API's certificate does not name $API_IP: making it again"
    rm -f "$p/apiserver.crt" "$p/apiserver.key"
  fi
  cert apiserver kube-apiserver "" "IP:$API_IP,IP:127.0.0.1,IP:$SERVICE_API_IP,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local"
  cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters
  cert admin chaos-k8s-admin system:masters
  cert controller-manager system:kube-controller-manager
  cert scheduler system:kube-scheduler
  cert kubelet "system:node:$NODE" system:nodes
  cert kube-proxy system:kube-proxy
  local c
  for c in admin controller-manager scheduler kubelet kube-proxy; do
    kubeconfig "$D/$c.kubeconfig" "$c"
  done
}

# refuse_stale stops up when a control plane an older cluster.sh started is
# still running (the API on 127.0.0.1 only): it would be left as it is.
refuse_stale() {
  local pid st cmd
  alive kube-apiserver || return 0
  read -r pid st <"$D/run/kube-apiserver.pid" || return 0
  cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 0
  [[ $cmd == *" --bind-address=$API_IP "* ]] ||
    die "the running API (pid $pid) does not listen on $API_IP (an older cluster.sh started it): cluster.sh down, then up"
}

# bridge makes the pods' bridge with its address before the API starts,
# which listens there (the CNI bridge plugin finds it made and adds the
# pods' veths to it); down deletes it.
bridge() {
  if ! ip link show "$BRIDGE" >/dev/null 2>&1; then
    say "making bridge $BRIDGE ($API_IP/$API_PREFIX)"
    ip link add "$BRIDGE" type bridge
  fi
  ip addr replace "$API_IP/$API_PREFIX" dev "$BRIDGE"
  ip link set "$BRIDGE" up
}

# api_endpoints gives the "kubernetes" Service (10.96.0.1:443) an
# EndpointSlice to the API: the endpoint reconciler is off
# (--endpoint-reconciler-type=none), so nothing else would, and a pod's
# in-cluster config would find nothing behind the Service.
api_endpoints() {
  kc apply -f - >/dev/null <<EOF
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: kubernetes-chaos-k8s
  namespace: default
  labels: {kubernetes.io/service-name: kubernetes, endpointslice.kubernetes.io/managed-by: cluster.sh}
addressType: IPv4
endpoints: [{addresses: ["$API_IP"], conditions: {ready: true}}]
ports: [{name: https, port: $API_PORT, protocol: TCP}]
EOF
}

# ---------------------------------------------------------------- configs

# put FILE: stdin into FILE, unless FILE already holds it: the kube-proxy
# exits when its config file changes, and an up that restarts one daemon
# must not restart the others.
put() {
  local new
  new=$(cat)
  [[ -f $1 && $(cat "$1") == "$new" ]] && return 0
  printf '%s\n' "$new" >"$1.tmp"
  mv -f "$1.tmp" "$1"
}

write_configs() {
  mkdir -p "$D/containerd" "$D/cni/net.d" "$D/kubelet" "$D/pod-logs"
  put "$D/containerd/config.toml" <<EOF
# A private containerd for the test cluster; Docker's stays untouched.
version = 2
root = "$D/containerd/root"
state = "$D/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.zfs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]

[grpc]
  address = "$D/containerd/containerd.sock"

[plugins."io.containerd.internal.v1.opt"]
  path = "$D/containerd/opt"

[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "docker.io/$PAUSE_IMAGE"
  # root here lacks CAP_SYS_RESOURCE: runc cannot lower oom_score_adj
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$D/cni/net.d"
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        Root = "$D/containerd/runc"
        SystemdCgroup = false
EOF
  put "$D/cni/net.d/10-chaos-k8s.conflist" <<EOF
{
  "cniVersion": "1.0.0",
  "name": "chaos-k8s",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "$BRIDGE",
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{"subnet": "$POD_SUBNET"}]],
        "routes": [{"dst": "0.0.0.0/0"}],
        "dataDir": "$D/cni/ipam"
      }
    }
  ]
}
EOF
  put "$D/kubelet/config.yaml" <<EOF
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
containerRuntimeEndpoint: unix://$D/containerd/containerd.sock
cgroupDriver: cgroupfs
# this host has cgroup v1 (and no swap accounting to speak of)
failCgroupV1: false
failSwapOn: false
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: true}
  x509: {clientCAFile: $D/pki/ca.crt}
authorization: {mode: Webhook}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: 10248
podLogsDir: $D/pod-logs
# nothing can be pulled: never collect images, never evict for disk
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: 100Mi, nodefs.available: 1%, imagefs.available: 1%, nodefs.inodesFree: 1%}
# the kube-proxy runs in nftables mode: no iptables chains from the kubelet
makeIPTablesUtilChains: false
serializeImagePulls: false
maxPods: 110
EOF
  put "$D/kube-proxy.yaml" <<EOF
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
mode: nftables
clientConnection: {kubeconfig: $D/kube-proxy.kubeconfig}
hostnameOverride: $NODE
clusterCIDR: $CLUSTER_CIDR
healthzBindAddress: 127.0.0.1:10256
metricsBindAddress: 127.0.0.1:10249
oomScoreAdj: 0
# leave the host's conntrack sysctls alone
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s}
EOF
}

# ---------------------------------------------------------------- host changes

record_host_paths() {
  [[ -e $D/created ]] && return 0
  local p
  for p in "${HOST_PATHS[@]}"; do [[ -e $p ]] || echo "$p"; done >"$D/created.tmp"
  mv "$D/created.tmp" "$D/created"
}

# clean_host_paths empties the fixed paths of what is ours and removes the
# ones up created (only when nothing else lives in them).
clean_host_paths() {
  local l
  if [[ -d /var/log/containers ]]; then
    for l in /var/log/containers/*; do
      [[ -L $l && $(readlink "$l") == "$D/"* ]] && rm -f "$l"
    done
  fi
  # libcni's cache of our sandboxes (their CNI DEL never ran): our
  # network's result and the loopback's of the same sandbox
  local f id
  for f in /var/lib/cni/results/chaos-k8s-*-eth0; do
    [[ -e $f ]] || continue
    id=${f##*/chaos-k8s-}
    id=${id%-eth0}
    rm -f "$f" "/var/lib/cni/results/cni-loopback-$id-lo"
  done
  [[ -s $D/created ]] || return 0
  if grep -qx /var/lib/kubelet "$D/created" && [[ -z $(mounts_under /var/lib/kubelet) ]]; then
    rm -f /var/lib/kubelet/device-plugins/kubelet.sock
    rmdir /var/lib/kubelet/device-plugins /var/lib/kubelet 2>/dev/null || say "left /var/lib/kubelet (not empty)"
  fi
  if grep -qx /var/lib/cni "$D/created"; then
    rmdir /var/lib/cni/results /var/lib/cni 2>/dev/null || say "left /var/lib/cni (not empty)"
  fi
  if grep -qx /var/log/containers "$D/created"; then
    rmdir /var/log/containers 2>/dev/null || say "left /var/log/containers (not empty)"
  fi
  if grep -qx /run/containerd "$D/created"; then
    rmdir /run/containerd/s /run/containerd 2>/dev/null || say "left /run/containerd (not empty)"
  fi
  return 0
}

save_sysctls() {
  [[ -s $D/sysctl.saved ]] && return 0
  local s
  for s in "${SYSCTLS[@]}"; do echo "$s=$(sysctl -n "$s")"; done >"$D/sysctl.saved.tmp"
  mv "$D/sysctl.saved.tmp" "$D/sysctl.saved"
}

# forward_chain: the host's FORWARD policy is DROP (Docker) and
# br_netfilter sends bridged frames through it, so pod traffic (pod to pod,
# pod to Service) is accepted by a chain of ours that down deletes.
forward_chain() {
  iptables -w -t filter -N "$FWD_CHAIN" 2>/dev/null || true
  iptables -w -t filter -C "$FWD_CHAIN" -s "$CLUSTER_CIDR" -j ACCEPT 2>/dev/null ||
    iptables -w -t filter -A "$FWD_CHAIN" -s "$CLUSTER_CIDR" -j ACCEPT
  iptables -w -t filter -C "$FWD_CHAIN" -d "$CLUSTER_CIDR" -j ACCEPT 2>/dev/null ||
    iptables -w -t filter -A "$FWD_CHAIN" -d "$CLUSTER_CIDR" -j ACCEPT
  iptables -w -t filter -C FORWARD -j "$FWD_CHAIN" 2>/dev/null ||
    iptables -w -t filter -I FORWARD 1 -j "$FWD_CHAIN"
}

# ---------------------------------------------------------------- images

ctr_() { ctr -a "$D/containerd/containerd.sock" -n k8s.io "$@"; }

# import_images IMAGE...: docker save | ctr import into the private containerd.
import_images() {
  local tar
  tar=$(mktemp "$D/images.XXXXXX.tar")
  if ! docker save -o "$tar" "$@"; then
    rm -f "$tar"
    die "docker save $* failed"
  fi
  if ! ctr_ images import "$tar" >/dev/null 2>"$tar.err"; then
    cat "$tar.err" >&2
    rm -f "$tar" "$tar.err"
    die "ctr images import of $* failed"
  fi
  rm -f "$tar" "$tar.err"
}

# pause_image: a FROM-scratch image of ./pause, the sandbox image.
pause_image() {
  if ctr_ images ls -q 2>/dev/null | grep -qx "docker.io/$PAUSE_IMAGE"; then return 0; fi
  say "building the pause image $PAUSE_IMAGE"
  local tmp
  tmp=$(mktemp -d)
  (cd "$REPO" && CGO_ENABLED=0 GOOS=linux GOFLAGS=-buildvcs=false go build -ldflags "-s -w" -o "$tmp/pause" ./examples/kubernetes/pause) ||
    die "building examples/kubernetes/pause failed"
  printf 'FROM scratch\nCOPY pause /pause\nENTRYPOINT ["/pause"]\n' >"$tmp/Dockerfile"
  if ! docker build -q -t "$PAUSE_IMAGE" "$tmp" >"$D/log/pause-build.log" 2>&1; then
    cat "$D/log/pause-build.log" >&2
    die "docker build of $PAUSE_IMAGE failed"
  fi
  rm -rf "$tmp"
  import_images "$PAUSE_IMAGE"
}

# ---------------------------------------------------------------- up

api() { curl -fsS --max-time 5 --cacert "$D/pki/ca.crt" --cert "$D/pki/admin.crt" --key "$D/pki/admin.key" "https://$API_IP:$API_PORT$1"; }
kc() { kubectl --kubeconfig "$D/admin.kubeconfig" --cache-dir "$D/kubectl-cache" "$@"; }

node_ready() {
  [[ $(kc get node "$NODE" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null) == True ]]
}

is_up() {
  local d
  [[ -s $D/kubeconfig ]] || return 1
  for d in "${DAEMONS[@]}"; do alive "$d" || return 1; done
  api /readyz >/dev/null 2>&1 && node_ready
}

smoke() {
  local ns=kube-system name=chaos-k8s-smoke
  kc -n "$ns" delete pod "$name" --ignore-not-found --wait=true >/dev/null 2>&1 || true
  # scheduled, not bound by hand: the scheduler is part of what is checked
  cat >"$D/smoke.yaml" <<EOF
apiVersion: v1
kind: Pod
metadata: {name: $name, namespace: $ns}
spec:
  terminationGracePeriodSeconds: 1
  containers: [{name: pause, image: $PAUSE_IMAGE, imagePullPolicy: Never}]
EOF
  # the namespace's default ServiceAccount comes from the controller manager
  wait_for "the smoke pod to be created" 60 kube-controller-manager kc create -f "$D/smoke.yaml"
  local i phase=
  for ((i = 0; i < 240; i++)); do
    phase=$(kc -n "$ns" get pod "$name" -o jsonpath='{.status.phase}' 2>/dev/null || true)
    [[ $phase == Running ]] && break
    sleep 0.5
  done
  if [[ $phase != Running ]]; then
    kc -n "$ns" describe pod "$name" >&2 || true
    tail -n 30 "$D/log/kubelet.log" >&2 || true
    die "smoke pod not Running after 120 s (phase '$phase'; logs in $D/log)"
  fi
  kc -n "$ns" delete pod "$name" --wait=true --timeout=60s >/dev/null
}

cmd_up() {
  need_root up
  local t0=$SECONDS
  if is_up; then
    take_holder
    say "already up: node $NODE, kubeconfig $D/kubeconfig"
    echo "$D/kubeconfig"
    return 0
  fi
  ensure_packages
  command -v docker >/dev/null || die "docker is needed (images are built with docker build)"
  command -v kubectl >/dev/null || die "kubectl is needed"
  cmd_build
  check_ranges
  # kube-proxy needs bridged pod traffic to pass netfilter (br_netfilter,
  # which Docker loads): else a pod's reply to a pod that came through a
  # Service on this node skips the un-DNAT and is dropped
  if [[ $(cat /proc/sys/net/bridge/bridge-nf-call-iptables 2>/dev/null) != 1 ]]; then
    say "warning: net.bridge.bridge-nf-call-iptables is not 1 (br_netfilter not loaded?): pod to Service to pod on this node may fail"
  fi
  mkdir -p "$D/run" "$D/log"
  chmod 700 "$D"
  # down removes only a folder that carries this mark
  touch "$D/.chaos-k8s"
  take_holder
  refuse_stale
  make_pki
  write_configs
  save_sysctls
  record_host_paths
  forward_chain
  bridge

  start etcd /usr/bin/etcd --name chaos-k8s --data-dir "$D/etcd" \
    --listen-client-urls "http://127.0.0.1:$ETCD_PORT" --advertise-client-urls "http://127.0.0.1:$ETCD_PORT" \
    --listen-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" --initial-advertise-peer-urls "http://127.0.0.1:$ETCD_PEER_PORT" \
    --initial-cluster "chaos-k8s=http://127.0.0.1:$ETCD_PEER_PORT" --initial-cluster-state new
  start containerd /usr/bin/containerd --config "$D/containerd/config.toml"
  wait_for etcd 60 etcd curl -fsS --max-time 2 "http://127.0.0.1:$ETCD_PORT/health"
  local p=$D/pki
  # WatchList=false: etcd 3.4 cannot serve RequestWatchProgress, and with
  # the gate on the API turns every watch from resourceVersion "" or "0"
  # (kubectl get -w, kwok's informers) into a watch-list stream it then
  # refuses ("a watch stream was requested ... RequestWatchProgress is
  # disabled"); clients retry in a loop and see events late
  start kube-apiserver "$CACHE/kube-apiserver" \
    --feature-gates=WatchList=false \
    --etcd-servers="http://127.0.0.1:$ETCD_PORT" \
    --bind-address="$API_IP" --advertise-address="$API_IP" --secure-port="$API_PORT" \
    --endpoint-reconciler-type=none \
    --service-cluster-ip-range="$SERVICE_CIDR" \
    --client-ca-file="$p/ca.crt" --tls-cert-file="$p/apiserver.crt" --tls-private-key-file="$p/apiserver.key" \
    --kubelet-client-certificate="$p/apiserver-kubelet-client.crt" --kubelet-client-key="$p/apiserver-kubelet-client.key" \
    --kubelet-preferred-address-types=InternalIP,Hostname \
    --service-account-issuer=https://kubernetes.default.svc.cluster.local \
    --service-account-key-file="$p/sa.pub" --service-account-signing-key-file="$p/sa.key" \
    --authorization-mode=Node,RBAC --enable-admission-plugins=NodeRestriction \
    --allow-privileged=true --profiling=false
  wait_for containerd 60 containerd ctr -a "$D/containerd/containerd.sock" version
  pause_image
  wait_for "the API (https://$API_IP:$API_PORT/readyz)" 120 kube-apiserver api /readyz
  wait_for "the EndpointSlice of Service kubernetes" 30 kube-apiserver api_endpoints

  start kube-controller-manager "$CACHE/kube-controller-manager" \
    --kubeconfig="$D/controller-manager.kubeconfig" \
    --authentication-kubeconfig="$D/controller-manager.kubeconfig" --authorization-kubeconfig="$D/controller-manager.kubeconfig" \
    --bind-address=127.0.0.1 --leader-elect=false --use-service-account-credentials=true \
    --service-account-private-key-file="$p/sa.key" --root-ca-file="$p/ca.crt" \
    --cluster-signing-cert-file="$p/ca.crt" --cluster-signing-key-file="$p/ca.key" \
    --profiling=false
  start kube-scheduler "$CACHE/kube-scheduler" \
    --kubeconfig="$D/scheduler.kubeconfig" \
    --authentication-kubeconfig="$D/scheduler.kubeconfig" --authorization-kubeconfig="$D/scheduler.kubeconfig" \
    --bind-address=127.0.0.1 --leader-elect=false --profiling=false
  start kubelet "$CACHE/kubelet" \
    --config="$D/kubelet/config.yaml" --kubeconfig="$D/kubelet.kubeconfig" \
    --root-dir="$D/kubelet/root" --cert-dir="$D/kubelet/pki" --hostname-override="$NODE"
  start kube-proxy "$CACHE/kube-proxy" --config="$D/kube-proxy.yaml"
  start kwok "$CACHE/kwok" --kubeconfig="$D/admin.kubeconfig" --config="$CACHE/kwok-stages.yaml" \
    --manage-all-nodes=false --manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake \
    --cidr="$KWOK_POD_CIDR" --node-ip="$KWOK_NODE_IP" --node-lease-duration-seconds=40

  wait_for "node $NODE to be Ready" 120 kubelet node_ready
  smoke
  local d
  for d in "${DAEMONS[@]}"; do alive "$d" || die "$d exited (log $D/log/$d.log)"; done
  cp "$D/admin.kubeconfig" "$D/kubeconfig.tmp"
  mv "$D/kubeconfig.tmp" "$D/kubeconfig"
  say "up in $((SECONDS - t0)) s: node $NODE Ready, smoke pod ran; kubeconfig:"
  echo "$D/kubeconfig"
}

# ---------------------------------------------------------------- down

# our_shims: pids of containerd shims started by our containerd.
our_shims() {
  local p
  for p in /proc/[0-9]*; do
    { tr '\0' ' ' <"$p/cmdline"; } 2>/dev/null | grep -q -- "-address $D/containerd/containerd.sock" && echo "${p#/proc/}"
  done
  return 0
}

# mounts_under DIR: mount points at or under DIR, deepest first.
mounts_under() {
  awk -v d="$1" '{ p = $5; gsub(/\\040/, " ", p); if (p == d || index(p, d "/") == 1) print length(p), p }' /proc/self/mountinfo |
    sort -rn | cut -d' ' -f2- | uniq
}

remove_iptables() {
  local ipt t chain rule args
  for ipt in iptables ip6tables; do
    command -v "$ipt" >/dev/null || continue
    for t in filter nat mangle raw security; do
      "$ipt" -w -t "$t" -S >/dev/null 2>&1 || continue
      for chain in KUBE-FIREWALL KUBE-KUBELET-CANARY KUBE-IPTABLES-HINT KUBE-PROXY-CANARY "$FWD_CHAIN"; do
        "$ipt" -w -t "$t" -S "$chain" >/dev/null 2>&1 || continue
        # the jumps to it (INPUT, OUTPUT, FORWARD ...), then the chain
        while read -r rule; do
          # iptables -S quotes like a shell (comments), so eval splits it
          eval "args=(${rule/#-A/-D})"
          "$ipt" -w -t "$t" "${args[@]}" || true
        done < <("$ipt" -w -t "$t" -S 2>/dev/null | grep -E "^-A .* -j $chain( |\$)" || true)
        "$ipt" -w -t "$t" -F "$chain" 2>/dev/null || true
        "$ipt" -w -t "$t" -X "$chain" 2>/dev/null || true
      done
    done
  done
}

cmd_down() {
  need_root down
  local t0=$SECONDS d
  rm -f "$D/kubeconfig"
  if [[ -d $D/run ]]; then
    for d in kwok kube-proxy kube-scheduler kube-controller-manager kubelet; do stop "$d"; done
    # the containers and sandboxes, through our containerd, so the shims
    # exit and remove their sockets
    if alive containerd; then
      local id
      for id in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks kill -s SIGKILL "$id" >/dev/null 2>&1 || true; done
      for id in $(ctr_ tasks ls -q 2>/dev/null); do ctr_ tasks delete -f "$id" >/dev/null 2>&1 || true; done
      for id in $(ctr_ containers ls -q 2>/dev/null); do ctr_ containers delete "$id" >/dev/null 2>&1 || true; done
    fi
    stop containerd
    # the API drains its watches for up to a minute: clients outside the
    # cluster (tests) may still hold some, and nothing here needs the drain
    stop kube-apiserver 3
    stop etcd
  fi
  # shims left behind (containerd was killed): stop them and remove their
  # sockets (containerd 1.6 puts them in /run/containerd/s, a fixed path)
  local pid socks
  for pid in $(our_shims); do
    mapfile -t socks < <(ss -xlpn 2>/dev/null | awk -v p="pid=$pid," 'index($0, p) && $5 ~ /^\// { print $5 }')
    say "stopping containerd shim $pid"
    kill -KILL "$pid" 2>/dev/null || true
    if ((${#socks[@]})); then rm -f "${socks[@]}"; fi
  done
  # anything mounted under the state folder: pod volumes, rootfs, netns, shm
  local m i
  for ((i = 0; i < 5; i++)); do
    [[ -z $(mounts_under "$D") ]] && break
    while read -r m; do
      [[ -n $m ]] && { umount "$m" 2>/dev/null || umount -l "$m" 2>/dev/null || true; }
    done < <(mounts_under "$D")
  done
  [[ -z $(mounts_under "$D") ]] || die "still mounted under $D: $(mounts_under "$D" | tr '\n' ' ')"
  # the kubelet's cgroups, deepest first, in every hierarchy (a cgroup
  # whose last process is still exiting is busy for a moment)
  local cg left
  for ((i = 0; i < 20; i++)); do
    left=
    for cg in /sys/fs/cgroup/*/kubepods /sys/fs/cgroup/kubepods; do
      [[ -d $cg ]] || continue
      find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true
      [[ -d $cg ]] && left+=" $cg"
    done
    [[ -z $left ]] && break
    sleep 0.5
  done
  [[ -z $left ]] || say "could not remove the cgroups$left"
  # the bridge and its veths (their peers went with the pods' namespaces)
  if ip link show "$BRIDGE" >/dev/null 2>&1; then
    local l
    for l in $(ip -o link show master "$BRIDGE" | awk -F': ' '{ sub(/@.*/, "", $2); print $2 }'); do
      ip link del "$l" 2>/dev/null || true
    done
    ip link del "$BRIDGE"
  fi
  local fam
  for fam in ip ip6 inet; do
    nft list table "$fam" kube-proxy >/dev/null 2>&1 && nft delete table "$fam" kube-proxy
  done
  remove_iptables
  if [[ -s $D/sysctl.saved ]]; then
    local kv
    while read -r kv; do sysctl -q -w "$kv" >/dev/null || say "could not restore $kv"; done <"$D/sysctl.saved"
  fi
  if [[ -d $D ]]; then
    clean_host_paths
    if [[ -e $D/.chaos-k8s ]]; then
      rm -rf --one-file-system "$D"
    else
      say "left $D: not made by cluster.sh up (no $D/.chaos-k8s)"
    fi
  fi
  say "down in $((SECONDS - t0)) s"
}

# ---------------------------------------------------------------- status, images

cmd_status() {
  local d n=0 up=0
  for d in "${DAEMONS[@]}"; do
    n=$((n + 1))
    if alive "$d"; then
      up=$((up + 1))
      printf '%-24s running (pid %s)\n' "$d" "$(cut -d' ' -f1 "$D/run/$d.pid")"
    else
      printf '%-24s stopped\n' "$d"
    fi
  done
  if ((up == 0)); then
    echo "cluster down ($D)"
    return 3
  fi
  if is_up; then
    echo "cluster up: kubeconfig $D/kubeconfig"
    kc get nodes -o wide 2>/dev/null || true
    return 0
  fi
  echo "cluster partly up ($up of $n daemons; logs in $D/log)"
  return 1
}

cmd_kubeconfig() {
  [[ -s $D/kubeconfig ]] || die "no cluster: $D/kubeconfig does not exist (cluster.sh up)"
  echo "$D/kubeconfig"
}

cmd_load_image() {
  need_root load-image
  (($#)) || die "usage: cluster.sh load-image IMAGE..."
  alive containerd || die "the cluster's containerd is not running (cluster.sh up)"
  import_images "$@"
  say "loaded $* (use imagePullPolicy: Never or IfNotPresent)"
}

# ---------------------------------------------------------------- host snapshot

# drop RE: the lines that do not match RE (no error when none are left).
drop() { grep -vE "$1" || true; }

# cmd_snapshot FILE: the host state the cluster touches, minus Docker's own
# objects and counters, so check-clean can compare it after down.
cmd_snapshot() {
  local out=${1:?usage: cluster.sh snapshot FILE}
  {
    echo "## links"
    ip -o link show | awk -F': ' '{ n = $2; sub(/@.*/, "", n); m = ""; if (match($3, / master [^ ]+/)) m = substr($3, RSTART + 8, RLENGTH - 8); print n, m }' |
      drop '^(docker0|br-[0-9a-f]{12}|veth[0-9a-f]+ (docker0|br-[0-9a-f]{12})|ifb[0-9]+)( |$)' | sort
    echo "## addresses"
    ip -o addr show | awk '{ print $2, $3, $4 }' | drop '^(docker0|br-[0-9a-f]{12}|veth|ifb)' | sort
    echo "## routes"
    ip route show table all | drop 'dev (docker0|br-[0-9a-f]{12}|veth)' | sed 's/ linkdown//' | sort
    ip -6 route show table all | drop 'dev (docker0|br-[0-9a-f]{12}|veth)' | sort
    echo "## rules"
    ip rule show
    echo "## nft (tables other than iptables-nft's)"
    nft list tables 2>/dev/null | sort
    nft list tables 2>/dev/null | while read -r _ fam name; do
      case $name in filter | nat | mangle | raw | security | broute) continue ;; esac
      nft list table "$fam" "$name"
    done
    local s
    for s in iptables-save ip6tables-save iptables-legacy-save ip6tables-legacy-save; do
      command -v "$s" >/dev/null || continue
      echo "## $s"
      "$s" 2>/dev/null | drop '^#|DOCKER|docker0|br-[0-9a-f]{12}' | sed 's/ \[[0-9]*:[0-9]*\]$//'
    done
    echo "## mounts"
    # not /run/netns itself: the first `ip netns add` on a host (a test's,
    # anyone's) bind-mounts that folder onto itself and nothing ever undoes
    # it; a namespace left in it is a mount below it, and is seen
    awk '{ for (i = 7; i <= NF; i++) if ($i == "-") { print $5, $(i + 1); break } }' /proc/self/mountinfo |
      drop '^(/(var/lib/docker|run/docker)|/run/containerd/io.containerd.runtime.v2.task/moby/|/run/netns )' | sort
    echo "## sysctls"
    for s in "${SYSCTLS[@]}" net.ipv4.ip_forward net.ipv4.conf.all.route_localnet net.bridge.bridge-nf-call-iptables \
      net.bridge.bridge-nf-call-ip6tables net.netfilter.nf_conntrack_max net.netfilter.nf_conntrack_tcp_timeout_established \
      net.netfilter.nf_conntrack_tcp_timeout_close_wait; do
      echo "$s=$(sysctl -n "$s" 2>/dev/null)"
    done
    echo "## cgroups"
    find /sys/fs/cgroup -mindepth 1 -maxdepth 2 -type d 2>/dev/null | drop '/docker$' | sort
    echo "## folders"
    for s in "${HOST_PATHS[@]}" /var/log/pods /etc/cni /opt/cni /opt/containerd /etc/kubernetes "$D"; do
      if [[ -e $s ]]; then echo "$s: $(ls -A "$s" 2>/dev/null | tr '\n' ' ')"; fi
    done
    # what is in it, whether or not it exists (see mounts)
    echo "/run/netns: $(ls -A /run/netns 2>/dev/null | tr '\n' ' ')"
    echo "## processes of the cluster"
    # daemons from the cache, or anything that names the state folder
    # (etcd, containerd and its shims); not the builds into the cache
    local exe cmd
    for s in /proc/[0-9]*; do
      exe=$(readlink "$s/exe" 2>/dev/null) || continue
      cmd=$({ tr '\0' ' ' <"$s/cmdline"; } 2>/dev/null) || continue
      case $exe/$cmd in "$CACHE"/[!.]* | *"$D/"*) echo "${exe##*/}: ${cmd:0:200}" ;; esac
    done | drop 'cluster.sh' | sort
  } >"$out"
}

cmd_check_clean() {
  local before=${1:?usage: cluster.sh check-clean SNAPSHOT}
  [[ -r $before ]] || die "no snapshot $before"
  local after
  after=$(mktemp)
  cmd_snapshot "$after"
  if diff -u "$before" "$after" >"$after.diff"; then
    say "host clean: same as $before"
    rm -f "$after" "$after.diff"
    return 0
  fi
  cat "$after.diff" >&2
  rm -f "$after" "$after.diff"
  die "the host differs from $before (see the diff above: - before, + now)"
}

main() {
  local cmd=${1:-}
  shift || true
  case $cmd in
    up | down | load-image)
      # one up or down at a time per cache (the ports are fixed)
      mkdir -p "$CACHE_ROOT"
      exec 9>"$CACHE_ROOT/.lock"
      if ! flock -n 9; then
        say "waiting for another cluster.sh up, down or load-image to finish"
        flock 9
      fi
      ;;
  esac
  case $cmd in
    up) cmd_up "$@" ;;
    down) cmd_down "$@" ;;
    status) cmd_status "$@" ;;
    kubeconfig) cmd_kubeconfig "$@" ;;
    load-image) cmd_load_image "$@" ;;
    build) cmd_build "$@" ;;
    snapshot) cmd_snapshot "$@" ;;
    check-clean) cmd_check_clean "$@" ;;
    reclaim) cmd_reclaim "$@" ;;
    *) die "usage: $0 up|down|status|kubeconfig|load-image IMAGE...|build|reclaim|snapshot FILE|check-clean FILE" ;;
  esac
}

main "$@"
