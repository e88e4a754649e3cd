//go:build linux

package network

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

var netemOnce struct {
	sync.Once
	ok  bool
	why string
}

// NetemAvailable probes, once per process, whether the kernel has the netem
// qdisc: it adds one to the loopback link of a fresh, anonymous network namespace
// that disappears with the probe's thread, so nothing is left anywhere.
func NetemAvailable() (bool, string) {
	netemOnce.Do(func() {
		done := make(chan struct{})
		goThrowaway(func() { // the thread dies with the namespace
			defer close(done)
			ns, err := netns.New()
			if err != nil {
				netemOnce.why = "cannot make a namespace to probe netem: " + err.Error()
				return
			}
			defer ns.Close()
			l, err := netlink.LinkByName("lo") // every namespace has one; this one dies with the probe
			if err != nil {
				netemOnce.why = "cannot find a link to probe netem: " + err.Error()
				return
			}
			q := netlink.NewNetem(netlink.QdiscAttrs{LinkIndex: l.Attrs().Index, Parent: netlink.HANDLE_ROOT, Handle: netlink.MakeHandle(1, 0)},
				netlink.NetemQdiscAttrs{Latency: 1000})
			if err := netlink.QdiscAdd(q); err != nil {
				netemOnce.why = "the kernel has no netem qdisc (sch_netem): " + err.Error()
				return
			}
			netemOnce.ok = true
			netemOnce.why = "the kernel has the netem qdisc"
		})
		<-done
	})
	return netemOnce.ok, netemOnce.why
}

// Links lists the interfaces a qdisc fault shapes in ns: every link but
// loopback, or the one named.
func Links(ns *NS, name string) ([]string, error) {
	h, err := netlink.NewHandleAt(ns.Handle())
	if err != nil {
		return nil, fmt.Errorf("netlink in %s: %w", ns, err)
	}
	defer h.Close()
	ls, err := h.LinkList()
	if err != nil {
		return nil, fmt.Errorf("list links in %s: %w", ns, err)
	}
	var out []string
	for _, l := range ls {
		a := l.Attrs()
		if a.Flags&net.FlagLoopback != 0 || (name != "" && a.Name != name) {
			continue
		}
		out = append(out, a.Name)
	}
	if len(out) == 0 {
		if name != "" {
			return nil, fmt.Errorf("%s has no interface %q", ns, name)
		}
		return nil, fmt.Errorf("%s has no interface but loopback", ns)
	}
	return out, nil
}

// AddRootQdisc adds q (a *Tbf or *Netem) as the root qdisc of link in ns.
// A link that already has a root qdisc of its own is refused rather than
// replaced: the undo could not put it back.
func AddRootQdisc(ns *NS, link string, q any) error {
	h, err := netlink.NewHandleAt(ns.Handle())
	if err != nil {
		return fmt.Errorf("netlink in %s: %w", ns, err)
	}
	defer h.Close()
	l, err := h.LinkByName(link)
	if err != nil {
		return fmt.Errorf("link %s in %s: %w", link, ns, err)
	}
	attrs := netlink.QdiscAttrs{LinkIndex: l.Attrs().Index, Parent: netlink.HANDLE_ROOT, Handle: netlink.MakeHandle(QdiscMajor, 0)}
	var qd netlink.Qdisc
	switch q := q.(type) {
	case *Tbf:
		burst := max(q.Burst, uint32(q.Rate/100), uint32(l.Attrs().MTU)+64, 1600)
		lat := q.Latency
		if lat <= 0 {
			lat = 50 * time.Millisecond
		}
		qd = &netlink.Tbf{QdiscAttrs: attrs, Rate: q.Rate, Buffer: netlink.Xmittime(q.Rate, burst),
			Limit: uint32(float64(q.Rate)*lat.Seconds()) + burst}
	case *Netem:
		qd = netlink.NewNetem(attrs, netlink.NetemQdiscAttrs{
			Latency: uint32(q.Delay.Microseconds()), Jitter: uint32(q.Jitter.Microseconds()), DelayCorr: float32(q.Correlation * 100),
			Loss: float32(q.Loss * 100), LossCorr: float32(q.LossCorr * 100), Duplicate: float32(q.Duplicate * 100),
			CorruptProb: float32(q.Corrupt * 100), Limit: max(q.Limit, 1000)})
	default:
		return fmt.Errorf("unknown qdisc %T", q)
	}
	if err := h.QdiscAdd(qd); err != nil {
		if errors.Is(err, unix.EEXIST) {
			return fmt.Errorf("%s in %s already has a root qdisc of its own; not replacing it", link, ns)
		}
		return fmt.Errorf("add %s qdisc on %s in %s: %w", qd.Type(), link, ns, err)
	}
	return nil
}

// DelRootQdisc deletes the root qdisc of link in ns if it is still ours; a
// link or qdisc already gone is success.
func DelRootQdisc(ns *NS, link string) error {
	h, err := netlink.NewHandleAt(ns.Handle())
	if err != nil {
		return fmt.Errorf("netlink in %s: %w", ns, err)
	}
	defer h.Close()
	l, err := h.LinkByName(link)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) {
			return nil
		}
		return fmt.Errorf("link %s in %s: %w", link, ns, err)
	}
	qs, err := h.QdiscList(l)
	if err != nil {
		return fmt.Errorf("list qdiscs of %s in %s: %w", link, ns, err)
	}
	for _, q := range qs {
		a := q.Attrs()
		if a.Parent == netlink.HANDLE_ROOT && a.Handle == netlink.MakeHandle(QdiscMajor, 0) {
			if err := h.QdiscDel(q); err != nil && !errors.Is(err, unix.ENOENT) && !errors.Is(err, unix.EINVAL) {
				return fmt.Errorf("delete %s qdisc on %s in %s: %w", q.Type(), link, ns, err)
			}
		}
	}
	return nil
}

// OurQdiscs lists the links of ns that carry a chaos root qdisc.
func OurQdiscs(ns *NS) ([]string, error) {
	h, err := netlink.NewHandleAt(ns.Handle())
	if err != nil {
		return nil, err
	}
	defer h.Close()
	qs, err := h.QdiscList(nil)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, q := range qs {
		if a := q.Attrs(); a.Parent == netlink.HANDLE_ROOT && a.Handle == netlink.MakeHandle(QdiscMajor, 0) {
			l, err := h.LinkByIndex(a.LinkIndex)
			if err == nil {
				out = append(out, l.Attrs().Name)
			}
		}
	}
	return out, nil
}
