package freezer

import (
	"errors"
	"fmt"
	"path"
	"regexp"
	"strings"
)

// ErrNotAvailable is wrapped by every error of a mechanism this OS lacks.
var ErrNotAvailable = errors.New("not available on this OS")

// Cgroup is the cgroup a freeze acts on, found through a process.
type Cgroup struct {
	Version int    // 1: the v1 freezer controller; 2: cgroup.freeze of the unified hierarchy
	Path    string // in its hierarchy, e.g. /kubepods/besteffort/pod<UID>
	Dir     string // on disk, as this process reaches it
	Inode   uint64 // of Dir: a cgroup made again under the same path is another one
	// Pod is the Kubernetes pod's UID when Path is a pod's cgroup (the
	// process's own one is a container's, below it), else "".
	Pod string
}

// String names the cgroup for messages.
func (c Cgroup) String() string { return fmt.Sprintf("cgroup v%d %s", c.Version, c.Path) }

// Line is one line of /proc/PID/cgroup: a hierarchy, its controllers
// (none for the unified one) and the process's path in it.
type Line struct {
	ID          string
	Controllers []string
	Path        string
}

// ParseCgroup reads /proc/PID/cgroup's lines.
func ParseCgroup(b []byte) []Line {
	var out []Line
	for _, l := range strings.Split(strings.TrimSpace(string(b)), "\n") {
		parts := strings.SplitN(l, ":", 3)
		if len(parts) != 3 {
			continue
		}
		var ctl []string
		if parts[1] != "" {
			ctl = strings.Split(parts[1], ",")
		}
		out = append(out, Line{ID: parts[0], Controllers: ctl, Path: parts[2]})
	}
	return out
}

// hierarchy picks the line a freeze uses: the v1 freezer's when it is
// mounted (v1 or hybrid), else the unified one ("0::").
func hierarchy(lines []Line, v1Freezer bool) (Line, int, bool) {
	for _, l := range lines {
		if v1Freezer && contains(l.Controllers, "freezer") {
			return l, 1, true
		}
	}
	for _, l := range lines {
		if l.ID == "0" && len(l.Controllers) == 0 {
			return l, 2, true
		}
	}
	return Line{}, 0, false
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}

var (
	// the kubelet's pod cgroups: pod<UID> with the cgroupfs driver,
	// kubepods[-QOS]-pod<UID with _>.slice with the systemd one
	podCgroupfs = regexp.MustCompile(`^pod([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$`)
	podSystemd  = regexp.MustCompile(`^kubepods(?:-[a-z]+)?-pod([0-9a-f]{8}_[0-9a-f]{4}_[0-9a-f]{4}_[0-9a-f]{4}_[0-9a-f]{12})\.slice$`)
)

// PodUID is the pod UID a path element of a cgroup names ("" when it is
// not a Kubernetes pod's cgroup).
func PodUID(elem string) string {
	if m := podCgroupfs.FindStringSubmatch(elem); m != nil {
		return m[1]
	}
	if m := podSystemd.FindStringSubmatch(elem); m != nil {
		return strings.ReplaceAll(m[1], "_", "-")
	}
	return ""
}

// SplitPod cuts a cgroup path at its pod's level: the pod's cgroup, its
// UID, and what lies below it (the container's element first); ok is
// false when no element of p is a pod's.
func SplitPod(p string) (pod, uid string, below []string, ok bool) {
	elems := strings.Split(strings.Trim(p, "/"), "/")
	for i, e := range elems {
		if u := PodUID(e); u != "" {
			return "/" + strings.Join(elems[:i+1], "/"), u, elems[i+1:], true
		}
	}
	return "", "", nil, false
}

// ContainerID is the container id a cgroup path element below a pod's
// names: the element itself with the cgroupfs driver, the part after the
// last '-' of cri-containerd-ID.scope, crio-ID.scope or docker-ID.scope
// with the systemd one.
func ContainerID(elem string) string {
	e := strings.TrimSuffix(elem, ".scope")
	if i := strings.LastIndexByte(e, '-'); i >= 0 && e != elem {
		return e[i+1:]
	}
	return e
}

// within reports whether cgroup path p is c or below it.
func within(p, c string) bool {
	p, c = path.Clean("/"+p), path.Clean("/"+c)
	return p == c || c == "/" || strings.HasPrefix(p, c+"/")
}

// mount is a cgroup hierarchy's mount from a mountinfo file.
type mount struct {
	Root, Point string // the hierarchy's path mounted, and where
}

// findMount reads a mountinfo file for the v1 freezer hierarchy (version 1)
// or the unified one (version 2).
func findMount(mountinfo []byte, version int) (mount, bool) {
	for _, l := range strings.Split(string(mountinfo), "\n") {
		pre, post, ok := strings.Cut(l, " - ")
		if !ok {
			continue
		}
		f, g := strings.Fields(pre), strings.Fields(post)
		if len(f) < 5 || len(g) < 3 {
			continue
		}
		switch {
		case version == 1 && g[0] == "cgroup" && contains(strings.Split(g[2], ","), "freezer"),
			version == 2 && g[0] == "cgroup2":
			return mount{Root: unescape(f[3]), Point: unescape(f[4])}, true
		}
	}
	return mount{}, false
}

// unescape undoes mountinfo's octal escapes (\040 for a space, …).
func unescape(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) && isOctal(s[i+1:i+4]) {
			b.WriteByte((s[i+1]-'0')<<6 | (s[i+2]-'0')<<3 | (s[i+3] - '0'))
			i += 3
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func isOctal(s string) bool {
	for _, c := range []byte(s) {
		if c < '0' || c > '7' {
			return false
		}
	}
	return true
}
