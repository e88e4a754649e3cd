//go:build linux

package netns

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os/exec"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sys/unix"

	"github.com/chaos-sre/chaos/faults"
	"github.com/chaos-sre/chaos/faults/journal"
	"github.com/chaos-sre/chaos/faults/network"
	"github.com/chaos-sre/chaos/faults/network/nettest"
)

// TestOfflineUndoLeavesANamespaceThatTookTheInode: a run journals a qdisc
// in a namespace and dies; the namespace goes, and the kernel gives its
// inode to the next namespace made, where another run has put its own
// qdisc on the link of the same name. `chaos recover` of the first run
// must leave that one alone: the cookie journaled with the change tells
// the two namespaces apart where the inode cannot.
func TestOfflineUndoLeavesANamespaceThatTookTheInode(t *testing.T) {
	nettest.Require(t)
	prefix := fmt.Sprintf("chaost-ino%05d-", rand.IntN(100000))
	add := func(i int) (string, uint64) {
		name := fmt.Sprintf("%s%d", prefix, i)
		out, err := exec.Command("ip", "netns", "add", name).CombinedOutput()
		require.NoError(t, err, "ip netns add %s: %s", name, out)
		t.Cleanup(func() { _ = exec.Command("ip", "netns", "del", name).Run() })
		var st unix.Stat_t
		require.NoError(t, unix.Stat("/run/netns/"+name, &st))
		return name, st.Ino
	}
	open := func(name string) *network.NS {
		ns, err := network.Open("/run/netns/" + name)
		require.NoError(t, err)
		t.Cleanup(func() { _ = ns.Close() })
		return ns
	}
	tbf := &network.Tbf{Rate: 1 << 20}

	first, ino := add(0)
	old := open(first)
	ref := nsRef{Inode: ino, Cookie: old.Cookie(), Link: "lo"}
	require.NotZero(t, ref.Cookie, "the kernel (6.x here) has SO_NETNS_COOKIE")
	require.NoError(t, network.AddRootQdisc(old, "lo", tbf))
	data, err := json.Marshal(ref)
	require.NoError(t, err)
	entry := journal.Entry{ID: 1, Run: "dead-run", Fault: "slow", Key: faults.NetnsKey(ino), Action: "tc-qdisc", Data: data}

	// the run dies; its namespace goes with the container
	require.NoError(t, old.Close())
	out, err := exec.Command("ip", "netns", "del", first).CombinedOutput()
	require.NoError(t, err, "%s", out)
	// new namespaces take the lowest inodes free; the freed one comes back
	// once the kernel has cleaned it up (asynchronously)
	var again string
	deadline := time.Now().Add(20 * time.Second)
	for i := 1; again == "" && time.Now().Before(deadline); i++ {
		if name, got := add(i); got == ino {
			again = name
		} else {
			time.Sleep(20 * time.Millisecond)
		}
	}
	require.NotEmpty(t, again, "no new namespace got inode %d back within 20 s", ino)
	other := open(again)
	require.NoError(t, network.AddRootQdisc(other, "lo", tbf), "another run's qdisc in the new namespace")
	found, ok, err := network.Find(0, ino, 0)
	require.NoError(t, err)
	require.True(t, ok, "by its inode alone, the new namespace passes for the old one")
	_ = found.Close()
	assert.NotEqual(t, ref.Cookie, other.Cookie(), "a cookie is never given to a second namespace")

	require.NoError(t, undoQdisc(context.Background(), entry), "the old namespace is gone, and its qdisc with it")
	links, err := network.OurQdiscs(other)
	require.NoError(t, err)
	assert.Equal(t, []string{"lo"}, links, "the other run's qdisc is still there")

	// the other run's own entry does undo it
	ref.Cookie = other.Cookie()
	entry.Data, err = json.Marshal(ref)
	require.NoError(t, err)
	require.NoError(t, undoQdisc(context.Background(), entry))
	links, err = network.OurQdiscs(other)
	require.NoError(t, err)
	assert.Empty(t, links)
}
