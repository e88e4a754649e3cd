//go:build linux

package network

import (
	"encoding/binary"
	"errors"
	"fmt"
	"sync/atomic"

	"github.com/google/nftables"
	"github.com/google/nftables/expr"
	"github.com/google/nftables/userdata"
	"github.com/google/nftables/xt"
	"golang.org/x/sys/unix"
)

// nativeQueue is 1 when the kernel has nft's own queue expression, -1 when
// it has not (use the xtables NFQUEUE target through nft_compat), 0 unknown.
var nativeQueue atomic.Int32

// AddTable adds table name (family ip) with rules in ns, in one netlink
// transaction: it is all there or none of it is. The table carries comment
// on every rule. Two base chains at mangle priority (before NAT, so DNS to
// Docker's 127.0.0.11:53 is still port 53): egress (output) and ingress
// (input).
func AddTable(ns *NS, name, comment string, rules []Rule) error {
	// Each attempt says which queue form it used: another table made at the
	// same time may settle nativeQueue between this one's attempt and its
	// error, and the retry must follow what this attempt tried.
	native := nativeQueue.Load() >= 0
	err := addTable(ns, name, comment, rules, native)
	if err != nil && native && hasQueue(rules) && errors.Is(err, unix.ENOENT) {
		nativeQueue.CompareAndSwap(0, -1)
		err = addTable(ns, name, comment, rules, false)
	} else if err == nil && hasQueue(rules) && native {
		nativeQueue.CompareAndSwap(0, 1)
	}
	if err != nil {
		return fmt.Errorf("add nftables table %s in %s: %w", name, ns, err)
	}
	return nil
}

func hasQueue(rules []Rule) bool {
	for _, r := range rules {
		if r.Verdict.Kind == "queue" {
			return true
		}
	}
	return false
}

func addTable(ns *NS, name, comment string, rules []Rule, native bool) error {
	c, err := nftables.New(nftables.WithNetNSFd(ns.Fd()))
	if err != nil {
		return err
	}
	t := c.AddTable(&nftables.Table{Name: name, Family: nftables.TableFamilyIPv4})
	accept := nftables.ChainPolicyAccept
	chains := map[bool]*nftables.Chain{}
	for _, eg := range []bool{true, false} {
		hook, cname := nftables.ChainHookInput, "ingress"
		if eg {
			hook, cname = nftables.ChainHookOutput, "egress"
		}
		chains[eg] = c.AddChain(&nftables.Chain{Name: cname, Table: t, Type: nftables.ChainTypeFilter,
			Hooknum: hook, Priority: nftables.ChainPriorityMangle, Policy: &accept})
	}
	ud := userdata.AppendString(nil, userdata.TypeComment, comment)
	for _, r := range rules {
		c.AddRule(&nftables.Rule{Table: t, Chain: chains[r.Egress], Exprs: r.exprs(native), UserData: ud})
	}
	return c.Flush()
}

func (r Rule) exprs(native bool) []expr.Any {
	var e []expr.Any
	if r.SkipLoopback {
		key := expr.MetaKeyIIFNAME
		if r.Egress {
			key = expr.MetaKeyOIFNAME
		}
		e = append(e, &expr.Meta{Key: key, Register: 1},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: ifname("lo")})
	}
	if r.Verdict.Kind == "queue" {
		e = append(e, &expr.Meta{Key: expr.MetaKeyMARK, Register: 1},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: binary.NativeEndian.AppendUint32(nil, DupMark)})
	}
	if r.Net.IsValid() {
		off := uint32(12) // saddr: the peer sent it
		if r.Egress {
			off = 16 // daddr: it goes to the peer
		}
		e = append(e, &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: off, Len: 4})
		if bits := r.Net.Bits(); bits < 32 {
			mask := binary.BigEndian.AppendUint32(nil, ^uint32(0)<<(32-bits))
			e = append(e, &expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4, Mask: mask, Xor: make([]byte, 4)})
		}
		a := r.Net.Masked().Addr().As4()
		e = append(e, &expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: a[:]})
	}
	if r.Proto != 0 {
		e = append(e, &expr.Meta{Key: expr.MetaKeyL4PROTO, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: []byte{r.Proto}})
	}
	for _, p := range []struct {
		port uint16
		off  uint32
	}{{r.SPort, 0}, {r.DPort, 2}} {
		if p.port != 0 {
			e = append(e, &expr.Payload{DestRegister: 1, Base: expr.PayloadBaseTransportHeader, Offset: p.off, Len: 2},
				&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: binary.BigEndian.AppendUint16(nil, p.port)})
		}
	}
	if r.NewOver > 0 {
		e = append(e, &expr.Ct{Key: expr.CtKeySTATE, Register: 1},
			&expr.Bitwise{SourceRegister: 1, DestRegister: 1, Len: 4,
				Mask: binary.NativeEndian.AppendUint32(nil, expr.CtStateBitNEW), Xor: make([]byte, 4)},
			&expr.Cmp{Op: expr.CmpOpNeq, Register: 1, Data: make([]byte, 4)},
			&expr.Connlimit{Count: r.NewOver, Flags: 1}) // NFT_CONNLIMIT_F_INV: "over"
	}
	v := r.Verdict
	if v.Kind == "random-drop" {
		threshold := uint32(min(v.Prob, 1) * float64(^uint32(0)))
		e = append(e, &expr.Meta{Key: expr.MetaKeyPRANDOM, Register: 1},
			&expr.Cmp{Op: expr.CmpOpLt, Register: 1, Data: binary.BigEndian.AppendUint32(nil, threshold)})
	}
	e = append(e, &expr.Counter{})
	switch v.Kind {
	case "queue":
		if native {
			e = append(e, &expr.Queue{Num: v.Queue, Total: 1, Flag: expr.QueueFlagBypass})
		} else {
			// xt_NFQ_info_v3 {u16 queuenum; u16 queues_total; u16 flags}, padded
			// to 8 bytes, host order; flags 1: bypass (fail open).
			info := binary.NativeEndian.AppendUint16(nil, v.Queue)
			info = binary.NativeEndian.AppendUint16(info, 1)
			info = binary.NativeEndian.AppendUint16(info, 1)
			info = append(info, 0, 0)
			u := xt.Unknown(info)
			e = append(e, &expr.Target{Name: "NFQUEUE", Rev: 3, Info: &u})
		}
	case "reject":
		if r.Proto == unix.IPPROTO_TCP {
			e = append(e, &expr.Reject{Type: unix.NFT_REJECT_TCP_RST})
		} else {
			e = append(e, &expr.Reject{Type: unix.NFT_REJECT_ICMP_UNREACH, Code: 3})
		}
	default: // drop, random-drop
		e = append(e, &expr.Verdict{Kind: expr.VerdictDrop})
	}
	return e
}

func ifname(s string) []byte {
	b := make([]byte, 16)
	copy(b, s)
	return b
}

// DelTable deletes table name from ns; a table already gone is success.
func DelTable(ns *NS, name string) error {
	c, err := nftables.New(nftables.WithNetNSFd(ns.Fd()))
	if err != nil {
		return err
	}
	c.DelTable(&nftables.Table{Name: name, Family: nftables.TableFamilyIPv4})
	if err := c.Flush(); err != nil && !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("delete nftables table %s in %s: %w", name, ns, err)
	}
	return nil
}

// Tables lists the names of the chaos tables in ns (for tests and checks).
func Tables(ns *NS) ([]string, error) {
	c, err := nftables.New(nftables.WithNetNSFd(ns.Fd()))
	if err != nil {
		return nil, err
	}
	ts, err := c.ListTablesOfFamily(nftables.TableFamilyIPv4)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, t := range ts {
		if len(t.Name) > len(TablePrefix) && t.Name[:len(TablePrefix)] == TablePrefix {
			out = append(out, t.Name)
		}
	}
	return out, nil
}
