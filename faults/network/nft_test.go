//go:build linux

package network_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/chaos-sre/chaos/faults/network"
	"github.com/chaos-sre/chaos/faults/network/nettest"
)

// Tables with queue rules made at the same time while the queue form is
// still unknown all go in: one that tried the native form as another
// settled on nft_compat retries instead of failing (a node agent applying
// faults to several pods at once met that ENOENT).
func TestQueueTablesAtOnceWhileTheFormIsUnknown(t *testing.T) {
	var nss []*network.NS
	for range 3 {
		p := nettest.New(t)
		nss = append(nss, p.NSA, p.NSB)
	}
	scope := network.Scope{Egress: true}
	for round := range 5 {
		network.ForgetQueueForm()
		var wg sync.WaitGroup
		errs := make([]error, len(nss))
		for i, ns := range nss {
			wg.Add(1)
			go func() {
				defer wg.Done()
				errs[i] = network.AddTable(ns, fmt.Sprintf("chaos-race-%d", round), "chaos run test", scope.Rules(network.Verdict{Kind: "queue", Queue: uint16(100 + i)}))
			}()
		}
		wg.Wait()
		for i, err := range errs {
			require.NoError(t, err, "round %d, namespace %d", round, i)
			require.NoError(t, network.DelTable(nss[i], fmt.Sprintf("chaos-race-%d", round)))
		}
	}
}
