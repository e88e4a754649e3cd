//go:build linux

// Package hostns_test checks the host-namespace guard from a process whose
// main thread sits in another network namespace, as chaos's does when the
// netem probe's goroutine happened to lock the main thread: /proc/self then
// names the probe's namespace, not the one every other thread is in.
package hostns_test

import (
	"os"
	"os/exec"
	"runtime"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vishvananda/netns"

	"github.com/chaos-sre/chaos/faults/network"
	"github.com/chaos-sre/chaos/faults/network/nettest"
)

var moved error

// TestMain runs on the main thread: it moves that thread alone into a new,
// empty network namespace and leaves it there while the tests run on
// other threads.
func TestMain(m *testing.M) {
	runtime.LockOSThread()
	if os.Getuid() == 0 {
		_, moved = netns.New()
	}
	os.Exit(m.Run())
}

func TestHostGuardSurvivesAMovedMainThread(t *testing.T) {
	nettest.Require(t)
	require.NoError(t, moved)
	self, err := network.OpenPid(os.Getpid())
	require.NoError(t, err)
	defer self.Close()

	sleep := exec.Command("sleep", "30")
	require.NoError(t, sleep.Start())
	t.Cleanup(func() { _ = sleep.Process.Kill(); _ = sleep.Wait() })
	host, err := network.OpenPid(sleep.Process.Pid)
	require.NoError(t, err)
	defer host.Close()
	require.NotEqual(t, self.Inode, host.Inode, "the main thread is elsewhere")
	assert.True(t, host.IsHost(), "a process in the namespace chaos started in is on the host")
	assert.False(t, self.IsHost(), "the moved main thread's namespace is not the host's")

	p := nettest.New(t)
	assert.False(t, p.NSA.IsHost(), "a namespace of its own is not the host's")
}
