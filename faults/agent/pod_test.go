//go:build linux

package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const uid = "508d91af-d5a5-469b-977b-642d297aa3b5"

// fakeProc writes a /proc of processes: pid → cgroup path, start, netns.
func fakeProc(t *testing.T, procs map[int]struct {
	cgroup string
	start  uint64
	netns  uint64
}) string {
	t.Helper()
	root := t.TempDir()
	for pid, p := range procs {
		dir := filepath.Join(root, fmt.Sprint(pid))
		require.NoError(t, os.MkdirAll(filepath.Join(dir, "ns"), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, "cgroup"), []byte("6:freezer:"+p.cgroup+"\n1:cpu:"+p.cgroup+"\n0::"+p.cgroup+"\n"), 0o644))
		stat := fmt.Sprintf("%d (a b) S 1 1 1 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 %d 1000 100", pid, p.start)
		require.NoError(t, os.WriteFile(filepath.Join(dir, "stat"), []byte(stat), 0o644))
		require.NoError(t, os.Symlink(fmt.Sprintf("net:[%d]", p.netns), filepath.Join(dir, "ns", "net")))
	}
	require.NoError(t, os.Mkdir(filepath.Join(root, "self"), 0o755))
	return root
}

type fake = struct {
	cgroup string
	start  uint64
	netns  uint64
}

func TestFindPodPicksTheContainerNotTheSandbox(t *testing.T) {
	pod := "/kubepods/besteffort/pod" + uid
	proc := fakeProc(t, map[int]fake{
		7815: {pod + "/85fbc746sandbox", 100, 4026532248},                                           // the sandbox: first of the pod
		7947: {pod + "/9d6486fcapp", 120, 4026532248},                                               // the app
		7990: {pod + "/9d6486fcapp", 130, 4026532248},                                               // a child of it
		8001: {pod + "/aaaasidecar", 125, 4026532248},                                               // a sidecar, started after the app
		8616: {"/kubepods/besteffort/podc843a01e-6602-4938-adb7-54a35dc8578c/4c1f", 90, 4026532178}, // another pod
		1:    {"/", 1, 4026531833},
	})
	p := Pod{Namespace: "ns", Name: "web-1", UID: uid}
	got, err := FindPod(proc, "node-1", p)
	require.NoError(t, err)
	assert.Equal(t, Proc{Pid: 7947, Start: 120, Netns: 4026532248, ContainerID: "9d6486fcapp", Sandbox: 7815}, got)

	p.Container, p.ContainerID = "sidecar", "containerd://aaaasidecar"
	got, err = FindPod(proc, "node-1", p)
	require.NoError(t, err)
	assert.Equal(t, 8001, got.Pid, "the container the status names")

	p.ContainerID = "containerd://0000gone"
	_, err = FindPod(proc, "node-1", p)
	assertInvalid(t, err, "container sidecar (0000gone) of pod ns/web-1 has no process on node node-1")

	_, err = FindPod(proc, "node-1", Pod{Namespace: "ns", Name: "web-1", UID: "11111111-2222-3333-4444-555555555555"})
	assertInvalid(t, err, "has no process on node node-1")
}

func TestFindPodOfTheSystemdDriver(t *testing.T) {
	slice := "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod508d91af_d5a5_469b_977b_642d297aa3b5.slice"
	proc := fakeProc(t, map[int]fake{
		10: {slice + "/cri-containerd-sandbox0.scope", 5, 4026532001},
		11: {slice + "/cri-containerd-app0.scope", 6, 4026532001},
	})
	got, err := FindPod(proc, "n", Pod{Namespace: "ns", Name: "p", UID: uid, ContainerID: "app0"})
	require.NoError(t, err)
	assert.Equal(t, Proc{Pid: 11, Start: 6, Netns: 4026532001, ContainerID: "app0", Sandbox: 10}, got)
}

func TestFindPodRefusesAPodOfOnlyItsSandbox(t *testing.T) {
	proc := fakeProc(t, map[int]fake{10: {"/kubepods/pod" + uid + "/sandbox0", 5, 4026532001}})
	_, err := FindPod(proc, "n", Pod{Namespace: "ns", Name: "p", UID: uid})
	assertInvalid(t, err, "no running container on node n, only its sandbox")
}

func TestFindPodRefusesAContainerOutsideItsPodsNetwork(t *testing.T) {
	proc := fakeProc(t, map[int]fake{
		10: {"/kubepods/pod" + uid + "/sandbox0", 5, 4026532001},
		11: {"/kubepods/pod" + uid + "/app0", 6, 4026532999},
	})
	_, err := FindPod(proc, "n", Pod{Namespace: "ns", Name: "p", UID: uid})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not in its pod's network namespace")
}

func assertInvalid(t *testing.T, err error, msg string) {
	t.Helper()
	var ae *answerError
	require.True(t, errors.As(err, &ae), "%v", err)
	assert.True(t, ae.body.Invalid)
	assert.Contains(t, ae.Error(), msg)
}
