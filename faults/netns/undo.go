package netns

import (
	"context"
	"fmt"
	"strings"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/journal"
	"github.com/chaos-sre/chaos/faults/network"
)

// Undoers are the offline undoers of the namespace faults' journal actions
// (for `chaos recover`); the registry lists them.
var Undoers = map[string]faults.UndoFunc{
	"nft-table": undoTable, // every rule-based kind, and the NFQUEUE shaper's feed
	"tc-qdisc":  undoQdisc, // netem and tbf
}

func undoTable(_ context.Context, e journal.Entry) error {
	ref, err := faults.Decode[nsRef](e)
	if err != nil {
		return err
	}
	if !strings.HasPrefix(ref.Table, network.TablePrefix+e.Run+"-") {
		return &faults.NotSameError{What: "nftables table " + ref.Table, Why: "its name is not one run " + e.Run + " makes (" + network.TablePrefix + e.Run + "-N)"}
	}
	if e.Key != faults.NetnsKey(ref.Inode) {
		return &faults.NotSameError{What: fmt.Sprintf("network namespace %d", ref.Inode), Why: "the entry's lease key is " + e.Key}
	}
	ns, ok, err := network.Find(ref.Pid, ref.Inode, ref.Cookie)
	if err != nil || !ok {
		return err // the namespace is gone, and the table with it
	}
	defer ns.Close()
	return network.DelTable(ns, ref.Table)
}

func undoQdisc(_ context.Context, e journal.Entry) error {
	ref, err := faults.Decode[nsRef](e)
	if err != nil {
		return err
	}
	if e.Key != faults.NetnsKey(ref.Inode) {
		return &faults.NotSameError{What: fmt.Sprintf("network namespace %d", ref.Inode), Why: "the entry's lease key is " + e.Key}
	}
	ns, ok, err := network.Find(ref.Pid, ref.Inode, ref.Cookie)
	if err != nil || !ok {
		return err
	}
	defer ns.Close()
	return network.DelRootQdisc(ns, ref.Link)
}
