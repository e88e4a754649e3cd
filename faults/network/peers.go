package network

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strings"
	"time"
)

// ResolvePeers turns peers into IPv4 prefixes: a CIDR or an address as it
// is; a name through the DNS the target itself uses — Docker's embedded
// server (127.0.0.11) answers compose service names with every replica's
// address inside a compose network — and then through the host's resolver.
// A peer that resolves to nothing is an error that names it.
func ResolvePeers(ctx context.Context, ns *NS, peers []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, p := range peers {
		p = strings.TrimSpace(p)
		if pf, err := netip.ParsePrefix(p); err == nil {
			if !pf.Addr().Is4() {
				return nil, fmt.Errorf("peer %q: only IPv4 is supported", p)
			}
			out = append(out, pf.Masked())
			continue
		}
		if a, err := netip.ParseAddr(p); err == nil {
			if !a.Is4() {
				return nil, fmt.Errorf("peer %q: only IPv4 is supported", p)
			}
			out = append(out, netip.PrefixFrom(a, 32))
			continue
		}
		addrs, err := lookup(ctx, ns, p)
		if err != nil || len(addrs) == 0 {
			why := "no IPv4 address"
			if err != nil {
				why = err.Error()
			}
			return nil, fmt.Errorf("peer %q resolves to nothing (%s) from the target's network namespace (Docker DNS 127.0.0.11) or the host (valid: a compose service, a host name, an IPv4 address or CIDR)", p, why)
		}
		for _, a := range addrs {
			out = append(out, netip.PrefixFrom(a, 32))
		}
	}
	return out, nil
}

func lookup(ctx context.Context, ns *NS, name string) ([]netip.Addr, error) {
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	inside := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
		var c net.Conn
		err := ns.Do(func() (err error) {
			c, err = (&net.Dialer{Timeout: time.Second}).DialContext(ctx, network, "127.0.0.11:53")
			return err
		})
		return c, err
	}}
	var firstErr error
	for _, r := range []*net.Resolver{inside, net.DefaultResolver} {
		as, err := r.LookupNetIP(ctx, "ip4", name)
		if err == nil && len(as) > 0 {
			for i := range as {
				as[i] = as[i].Unmap()
			}
			return as, nil
		}
		if firstErr == nil && r == net.DefaultResolver {
			firstErr = err
		}
	}
	return nil, firstErr
}
