#!/usr/bin/env bash
# run.sh [CONFIG] — the HAProxy example gateway in the foreground, in front of
# two example models run as local processes:
#   hapx-primary   the primary model  (127.0.0.1:$PRIMARY_PORT)
#   hapx-fallback  the fallback model (127.0.0.1:$FALLBACK_PORT), HAProxy's backup server
#   haproxy        127.0.0.1:$GATEWAY_PORT, Prometheus /metrics on 127.0.0.1:$STATS_PORT
# CONFIG defaults to haproxy.cfg beside this script; haproxy-broken.cfg is the
# gateway without health checks or backup, which the experiments must fail on.
#
# Environment (defaults are the ports the experiments here expect):
#   GATEWAY_PORT=18480 STATS_PORT=18481 PRIMARY_PORT=18482 FALLBACK_PORT=18483
#   MODEL_BIN      a built examples/cmd/model binary (default: go build it)
#   RUN_DIR        where the model binaries and pid files go (default: a new temp dir,
#                  removed at exit); primary.pid, fallback.pid, haproxy.pid
#   RESTART_DELAY  seconds before a model that exited is started again (default 2),
#                  as a supervisor would (systemd Restart=always, RestartSec=2)
#
# The models get their process names (/proc/PID/comm) from their binaries, so
# experiments target them with `process: hapx-primary`. HAProxy logs server
# state changes to stdout with RFC 5424 timestamps (microseconds). Stop it with
# Ctrl-C or SIGTERM: the models stop with it (a watcher also stops them when
# haproxy exits on its own).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cfg=${1:-$here/haproxy.cfg}
[[ -f $cfg ]] || { echo "run.sh: no config $cfg" >&2; exit 2; }
command -v haproxy >/dev/null || { echo "run.sh: haproxy is not installed (apt-get install haproxy)" >&2; exit 2; }

export GATEWAY_PORT=${GATEWAY_PORT:-18480} STATS_PORT=${STATS_PORT:-18481}
export PRIMARY_PORT=${PRIMARY_PORT:-18482} FALLBACK_PORT=${FALLBACK_PORT:-18483}
restart_delay=${RESTART_DELAY:-2}
own_dir=
if [[ -z ${RUN_DIR:-} ]]; then
  RUN_DIR=$(mktemp -d "${TMPDIR:-/tmp}/chaos-haproxy.XXXXXX")
  own_dir=1
fi
mkdir -p "$RUN_DIR"

if [[ -n ${MODEL_BIN:-} ]]; then
  cp "$MODEL_BIN" "$RUN_DIR/hapx-primary"
else
  (cd "$here/../.." && go build -o "$RUN_DIR/hapx-primary" ./examples/cmd/model)
fi
cp "$RUN_DIR/hapx-primary" "$RUN_DIR/hapx-fallback"

main=$$ # haproxy's pid once this script execs it
echo "$main" >"$RUN_DIR/haproxy.pid"

# alive PID: the process exists and is not a zombie (a stopped one is alive).
alive() {
  local st
  { read -r _ _ st _ <"/proc/$1/stat"; } 2>/dev/null || return 1
  [[ $st != Z ]]
}

# supervise NAME ARGS…: run the model, start it again RESTART_DELAY after it
# exits, and stop it when haproxy is gone or on SIGTERM. It always reaps the
# model, so no zombie keeps its name (process targets match by name).
model_pid=
stop_model() {
  [[ -n $model_pid ]] || return 0
  kill -CONT "$model_pid" 2>/dev/null || true
  kill -TERM "$model_pid" 2>/dev/null || true
  wait "$model_pid" 2>/dev/null || true
  model_pid=
}
supervise() {
  local name=$1
  shift
  trap 'finish "$name"; exit 0' TERM INT HUP
  while alive "$main"; do
    "$RUN_DIR/hapx-$name" "$@" >&2 &
    model_pid=$!
    echo "$model_pid" >"$RUN_DIR/$name.pid"
    echo "run.sh: $name model pid $model_pid" >&2
    while alive "$model_pid" && alive "$main"; do sleep 0.1; done
    alive "$main" || break
    wait "$model_pid" 2>/dev/null || true
    model_pid=
    echo "run.sh: $name model exited; starting it again in ${restart_delay}s" >&2
    sleep "$restart_delay"
  done
  finish "$name"
}

# finish NAME: stop the model, remove its pid file and (once, from the
# primary's supervisor) the run folder this script made.
finish() {
  stop_model
  rm -f "$RUN_DIR/$1.pid"
  if [[ -n $own_dir && $1 == primary ]]; then
    sleep 0.2
    rm -rf "$RUN_DIR"
  fi
}

supervise primary --listen "127.0.0.1:$PRIMARY_PORT" --name primary --ttft 20ms --token-delay 2ms &
supervise fallback --listen "127.0.0.1:$FALLBACK_PORT" --name fallback --ttft 10ms --token-delay 1ms &

for port in "$PRIMARY_PORT" "$FALLBACK_PORT"; do
  for ((i = 0; ; i++)); do
    "$RUN_DIR/hapx-primary" healthcheck "http://127.0.0.1:$port/healthz" >/dev/null 2>&1 && break
    if ((i >= 300)); then
      echo "run.sh: the model on port $port did not answer /healthz within 30s" >&2
      exit 1
    fi
    sleep 0.1
  done
done

haproxy -c -q -f "$cfg" || exit 2
echo "run.sh: haproxy on 127.0.0.1:$GATEWAY_PORT (metrics http://127.0.0.1:$STATS_PORT/metrics), config $cfg, pid $main" >&2
exec haproxy -db -f "$cfg"
