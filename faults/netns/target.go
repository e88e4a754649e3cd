package netns

import (
	"context"
	"fmt"
	"syscall"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/network"
	"github.com/chaos-sre/chaos/faults/targets"
)

// netTarget is one target's namespace with its peers resolved.
type netTarget struct {
	t     targets.Target
	ns    *network.NS
	scope network.Scope
}

// openNetTargets opens every target's network namespace and resolves the
// scope's peers in it. Nothing is changed; on error every handle is closed.
func openNetTargets(ctx context.Context, kind string, s NetScope, ts []targets.Target) ([]netTarget, error) {
	if !network.HasNetAdmin() {
		return nil, fmt.Errorf("%s needs CAP_NET_ADMIN (run chaos as root, or give it the capability: setcap cap_net_admin,cap_sys_admin+ep)", kind)
	}
	var out []netTarget
	closeAll := func() {
		for _, n := range out {
			n.ns.Close()
		}
	}
	for _, t := range ts {
		ns, err := targetNS(ctx, t, s.AllowHost)
		if err != nil {
			closeAll()
			return nil, err
		}
		sc := network.Scope{Egress: s.Direction != "ingress", Ingress: s.Direction == "ingress" || s.Direction == "both", Port: uint16(s.Port)}
		switch s.Protocol {
		case "tcp":
			sc.Proto = syscall.IPPROTO_TCP
		case "udp":
			sc.Proto = syscall.IPPROTO_UDP
		}
		if len(s.Peers) > 0 {
			if sc.Nets, err = network.ResolvePeers(ctx, ns, s.Peers); err != nil {
				ns.Close()
				closeAll()
				return nil, fmt.Errorf("target %s: %w", t.Name, err)
			}
		}
		out = append(out, netTarget{t: t, ns: ns, scope: sc})
	}
	return out, nil
}

// targetNS opens the network namespace of a container (through its pid
// from the Docker API) or of a process, refusing the host's unless allowed:
// that refusal matches targets.ErrRefused, an invalid experiment (exit 2).
func targetNS(ctx context.Context, t targets.Target, allowHost bool) (*network.NS, error) {
	pid := t.Pid
	if t.Container != "" {
		api, err := faults.Docker()
		if err != nil {
			return nil, err
		}
		c, err := api.ContainerInspect(ctx, t.Container)
		if err != nil {
			return nil, fmt.Errorf("target %s: inspect container: %w", t.Name, targets.DockerError(err))
		}
		if c.State == nil || !c.State.Running || c.State.Pid == 0 {
			return nil, fmt.Errorf("target %s: the container is not running, so it has no network namespace to enter", t.Name)
		}
		if c.HostConfig != nil && c.HostConfig.NetworkMode.IsHost() && !allowHost {
			return nil, targets.Refusef("target %s: the container uses the host's network (network_mode: host); refusing to change the host's network (valid: a container with its own network, or params allow_host: true)", t.Name)
		}
		pid = c.State.Pid
	}
	if pid <= 0 {
		return nil, fmt.Errorf("target %s has no process or container, so no network namespace (valid: a compose service, container, labels, process or pid target)", t.Name)
	}
	ns, err := network.OpenPid(pid)
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", t.Name, err)
	}
	if ns.IsHost() && !allowHost {
		ns.Close()
		return nil, targets.Refusef("target %s (pid %d) runs in the host's network namespace; refusing to change the host's network (valid: a process in its own network namespace such as a container's, or params allow_host: true)", t.Name, pid)
	}
	return ns, nil
}
