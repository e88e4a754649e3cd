package freezer

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestParseCgroupOfAPodsContainer(t *testing.T) {
	lines := ParseCgroup([]byte("6:freezer:/kubepods/besteffort/pod508d91af-d5a5-469b-977b-642d297aa3b5/9d64\n1:cpu,cpuacct:/kubepods\n0::/kubepods/x\n"))
	assert.Equal(t, []Line{
		{ID: "6", Controllers: []string{"freezer"}, Path: "/kubepods/besteffort/pod508d91af-d5a5-469b-977b-642d297aa3b5/9d64"},
		{ID: "1", Controllers: []string{"cpu", "cpuacct"}, Path: "/kubepods"},
		{ID: "0", Path: "/kubepods/x"},
	}, lines)
	l, v, ok := hierarchy(lines, true)
	assert.True(t, ok)
	assert.Equal(t, 1, v)
	assert.Equal(t, "6", l.ID)
	l, v, ok = hierarchy(lines, false)
	assert.True(t, ok)
	assert.Equal(t, 2, v, "no v1 freezer mounted: the unified hierarchy")
	assert.Equal(t, "0", l.ID)
	_, _, ok = hierarchy(lines[1:2], true)
	assert.False(t, ok)
}

func TestSplitPodKnowsBothDrivers(t *testing.T) {
	for name, tc := range map[string]struct {
		path, pod, uid, container string
	}{
		"cgroupfs":            {"/kubepods/besteffort/pod508d91af-d5a5-469b-977b-642d297aa3b5/85fbc746", "/kubepods/besteffort/pod508d91af-d5a5-469b-977b-642d297aa3b5", "508d91af-d5a5-469b-977b-642d297aa3b5", "85fbc746"},
		"cgroupfs guaranteed": {"/kubepods/pod508d91af-d5a5-469b-977b-642d297aa3b5/85fbc746", "/kubepods/pod508d91af-d5a5-469b-977b-642d297aa3b5", "508d91af-d5a5-469b-977b-642d297aa3b5", "85fbc746"},
		"systemd": {"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod508d91af_d5a5_469b_977b_642d297aa3b5.slice/cri-containerd-85fbc746.scope",
			"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod508d91af_d5a5_469b_977b_642d297aa3b5.slice", "508d91af-d5a5-469b-977b-642d297aa3b5", "85fbc746"},
		"systemd guaranteed": {"/kubepods.slice/kubepods-pod508d91af_d5a5_469b_977b_642d297aa3b5.slice/crio-85fbc746.scope",
			"/kubepods.slice/kubepods-pod508d91af_d5a5_469b_977b_642d297aa3b5.slice", "508d91af-d5a5-469b-977b-642d297aa3b5", "85fbc746"},
	} {
		t.Run(name, func(t *testing.T) {
			pod, uid, below, ok := SplitPod(tc.path)
			assert.True(t, ok)
			assert.Equal(t, tc.pod, pod)
			assert.Equal(t, tc.uid, uid)
			if assert.Len(t, below, 1) {
				assert.Equal(t, tc.container, ContainerID(below[0]))
			}
		})
	}
	for _, p := range []string{"/", "/user.slice/user-0.slice/session-3.scope", "/kubepods/besteffort", "/docker/0123", "/kubepods/podnot-a-uid/x"} {
		_, _, _, ok := SplitPod(p)
		assert.False(t, ok, p)
	}
}

func TestWithin(t *testing.T) {
	assert.True(t, within("/a/b", "/a"))
	assert.True(t, within("/a", "/a"))
	assert.True(t, within("/a/b", "/"))
	assert.False(t, within("/ab", "/a"))
	assert.False(t, within("/a", "/a/b"))
}

func TestFindMount(t *testing.T) {
	mi := []byte(`24 30 0:22 / /sys rw,nosuid shared:7 - sysfs sysfs rw
35 24 0:30 / /sys/fs/cgroup rw - tmpfs tmpfs rw,mode=755
40 35 0:35 / /sys/fs/cgroup/cpu rw - cgroup cgroup rw,cpu
41 35 0:36 /kube\040pods /sys/fs/cgroup/free\040zer rw - cgroup cgroup rw,freezer
42 35 0:37 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
`)
	m, ok := findMount(mi, 1)
	assert.True(t, ok)
	assert.Equal(t, mount{Root: "/kube pods", Point: "/sys/fs/cgroup/free zer"}, m)
	m, ok = findMount(mi, 2)
	assert.True(t, ok)
	assert.Equal(t, mount{Root: "/", Point: "/sys/fs/cgroup/unified"}, m)
	_, ok = findMount(mi[:40], 1)
	assert.False(t, ok)
	assert.Equal(t, `a\0`, unescape(`a\0`), "a short escape is kept")
}
