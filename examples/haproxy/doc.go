// Package haproxy is the HAProxy example gateway: run.sh starts HAProxy
// (haproxy.cfg, or haproxy-broken.cfg without health checks and backup) in
// front of two example models run as local processes, and the experiments
// beside it hold against the one and fail against the other. The package has
// no code of its own; its tests run the experiments end to end.
package haproxy
