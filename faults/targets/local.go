package targets

import (
	"bufio"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// This file finds local processes by what they run (cmdline), by the pid
// file they keep (pidfile) and by the TCP port they listen on (port). What
// it finds goes through the same guards as process and pid targets.

// procsByCmdline lists the processes whose command line matches re, except
// chaos itself, sorted by pid. Processes without a command line (kernel
// threads, zombies) have nothing to match. Without allowHost only chaos's
// own user's processes count; others is how many of other users' were left
// out.
func procsByCmdline(re *regexp.Regexp, allowHost bool) ([]proc, int, error) {
	return procsWhere(allowHost, func(pid int) bool {
		line, ok := cmdline(pid)
		return ok && re.MatchString(line)
	})
}

// cmdline is the command line of pid, its NUL-separated arguments joined by
// spaces; false when it has none or is gone.
func cmdline(pid int) (string, bool) {
	b, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "cmdline"))
	if err != nil || len(b) == 0 {
		return "", false
	}
	return strings.ReplaceAll(strings.TrimRight(string(b), "\x00"), "\x00", " "), true
}

// maxPidfile is the largest pid file chaos reads: a pid and a newline fit
// in far less; anything bigger is not a pid file.
const maxPidfile = 64

// readPidfile reads the pid a pid file holds, and when the file was last
// written. It opens without blocking (a FIFO planted at the path cannot hang
// the run) and reads only a regular file of at most maxPidfile bytes
// holding one positive integer, with surrounding white space.
func readPidfile(path string) (int, time.Time, error) {
	f, err := os.OpenFile(path, os.O_RDONLY|syscall.O_NONBLOCK|syscall.O_NOCTTY, 0)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return 0, time.Time{}, errors.New("no such file (is the process running? valid: the path of a pid file the process writes)")
		}
		return 0, time.Time{}, err
	}
	defer f.Close()
	st, err := f.Stat() // of what was opened, not of what the path names now
	if err != nil {
		return 0, time.Time{}, err
	}
	switch {
	case !st.Mode().IsRegular():
		return 0, time.Time{}, fmt.Errorf("not a regular file (%s) (valid: a pid file holding one number)", st.Mode().Type())
	case st.Size() > maxPidfile:
		return 0, time.Time{}, fmt.Errorf("%d bytes is too big for a pid file (valid: one number, at most %d bytes)", st.Size(), maxPidfile)
	}
	b, err := io.ReadAll(io.LimitReader(f, maxPidfile+1))
	if err != nil {
		return 0, time.Time{}, err
	}
	if len(b) > maxPidfile {
		return 0, time.Time{}, fmt.Errorf("more than %d bytes is too big for a pid file (valid: one number)", maxPidfile)
	}
	s := strings.TrimSpace(string(b))
	pid, err := strconv.Atoi(s)
	if err != nil || pid <= 0 {
		return 0, time.Time{}, fmt.Errorf("holds %q, not a pid (valid: one number above 0)", s)
	}
	return pid, st.ModTime(), nil
}

// listener is one listening TCP socket of this host's network namespace.
type listener struct {
	inode string
	addr  string // host:port to connect to it (loopback for a wildcard)
	uid   int
}

// tcpStateListen is TCP_LISTEN as /proc/net/tcp writes the st column.
const tcpStateListen = "0A"

// listeners reads /proc/net/tcp and /proc/net/tcp6: the listening sockets on
// port (every one when port is 0).
func listeners(port int) ([]listener, error) {
	var out []listener
	for _, file := range []string{"tcp", "tcp6"} {
		f, err := os.Open(filepath.Join(procRoot, "net", file))
		if err != nil {
			if errors.Is(err, os.ErrNotExist) && file == "tcp6" {
				continue // no IPv6 in this kernel
			}
			return nil, err
		}
		sc := bufio.NewScanner(f)
		sc.Scan() // header
		for sc.Scan() {
			// sl local_address rem_address st tx:rx tr:when retrnsmt uid timeout inode
			fs := strings.Fields(sc.Text())
			if len(fs) < 10 || fs[3] != tcpStateListen {
				continue
			}
			ip, p, ok := parseHexAddr(fs[1])
			if !ok || (port != 0 && p != port) {
				continue
			}
			if ip.IsUnspecified() {
				ip = loopbackFor(ip)
			}
			uid, _ := strconv.Atoi(fs[7])
			out = append(out, listener{inode: fs[9], addr: net.JoinHostPort(ip.String(), strconv.Itoa(p)), uid: uid})
		}
		err = sc.Err()
		f.Close()
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// loopbackFor is the address to reach a wildcard listener at: 127.0.0.1,
// which a dual-stack [::] socket (the default, and what Go opens for
// 0.0.0.0) accepts too, or [::1] for [::] when IPv6 sockets default to
// IPv6 only.
func loopbackFor(wildcard net.IP) net.IP {
	if wildcard.To4() == nil {
		if b, err := os.ReadFile(filepath.Join(procRoot, "sys/net/ipv6/bindv6only")); err == nil && strings.TrimSpace(string(b)) == "1" {
			return net.IPv6loopback
		}
	}
	return net.IPv4(127, 0, 0, 1)
}

// parseHexAddr decodes a local_address of /proc/net/tcp{,6}: the address as
// 32-bit words in host byte order, a colon, the port in hex.
func parseHexAddr(s string) (net.IP, int, bool) {
	a, p, ok := strings.Cut(s, ":")
	port, err := strconv.ParseUint(p, 16, 16)
	raw, herr := hex.DecodeString(a)
	if !ok || err != nil || herr != nil || (len(raw) != 4 && len(raw) != 16) {
		return nil, 0, false
	}
	ip := make(net.IP, len(raw))
	for i := 0; i < len(raw); i += 4 {
		binary.BigEndian.PutUint32(ip[i:], binary.NativeEndian.Uint32(raw[i:]))
	}
	return ip, int(port), true
}

// procsBySocket lists the processes holding a file descriptor on one of
// the socket inodes, sorted by pid, with the socket's address. Chaos itself
// is among them when it holds one (the guards refuse it, saying so).
// Processes whose descriptors chaos may not read are not found.
func procsBySocket(ls []listener) (ps []proc, addr map[int]string, err error) {
	want := map[string]string{}
	for _, l := range ls {
		want["socket:["+l.inode+"]"] = l.addr
	}
	dirs, err := filepath.Glob(filepath.Join(procRoot, "[0-9]*"))
	if err != nil {
		return nil, nil, err
	}
	addr = map[int]string{}
	for _, d := range dirs {
		pid, err := strconv.Atoi(filepath.Base(d))
		if err != nil {
			continue
		}
		fds, err := os.ReadDir(filepath.Join(d, "fd"))
		if err != nil {
			continue // another user's, or gone
		}
		for _, fd := range fds {
			link, err := os.Readlink(filepath.Join(d, "fd", fd.Name()))
			if a, ok := want[link]; err == nil && ok {
				addr[pid] = a
				break
			}
		}
		if _, ok := addr[pid]; !ok {
			continue
		}
		p, err := readProc(pid)
		if err != nil {
			delete(addr, pid)
			continue
		}
		ps = append(ps, p)
	}
	slices.SortFunc(ps, func(a, b proc) int { return a.pid - b.pid })
	return ps, addr, nil
}

// portForwarders hold a port on behalf of a container: a fault on them hits
// the port forwarding, not the service behind it.
var portForwarders = []string{"docker-proxy", "rootlessport", "rootlesskit", "slirp4netns", "pasta"}

// listeningPorts lists the TCP ports something listens on, for the error of
// a port nothing listens on.
func listeningPorts() string {
	ls, err := listeners(0)
	if err != nil {
		return "cannot read listening ports: " + err.Error()
	}
	var ports []int
	for _, l := range ls {
		_, p, _ := net.SplitHostPort(l.addr)
		n, _ := strconv.Atoi(p)
		if !slices.Contains(ports, n) {
			ports = append(ports, n)
		}
	}
	slices.Sort(ports)
	s := make([]string, 0, len(ports))
	for _, p := range ports {
		s = append(s, strconv.Itoa(p))
	}
	if len(s) == 0 {
		return "nothing listens on any TCP port"
	}
	return "listening: " + strings.Join(first(s, 20), ", ")
}
