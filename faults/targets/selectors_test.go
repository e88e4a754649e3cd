//go:build unix

package targets

import (
	"bufio"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startSleep runs sleep with an argument no other process has and returns
// its pid and command line.
func startSleep(t *testing.T, secs string) int {
	t.Helper()
	cmd := exec.Command("sleep", secs)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	for i := 0; i < 200; i++ { // until exec has replaced the forked copy of us
		if line, _ := cmdline(cmd.Process.Pid); line == "sleep "+secs {
			break
		}
		time.Sleep(5 * time.Millisecond)
	}
	return cmd.Process.Pid
}

// uniqueSecs is a sleep length no other test's sleep has.
func uniqueSecs() string { return strconv.FormatInt(3_000_000+time.Now().UnixNano()%1_000_000, 10) }

// TestStaticResolvesCmdline: a regular expression over the command line
// finds the process; several matches are refused (listing them) unless a
// pick says which; chaos's ancestors are refused; a bad expression and one
// that matches nothing say so.
func TestStaticResolvesCmdline(t *testing.T) {
	s := &Static{Known: known()}
	one, two := uniqueSecs(), uniqueSecs()+"1"
	a := startSleep(t, one)
	b1, b2 := startSleep(t, two), startSleep(t, two)
	parent, _ := cmdline(os.Getppid())
	tests := []struct {
		name    string
		spec    Spec
		want    []int
		err     string
		refused bool
	}{
		{name: "one match", spec: Spec{Cmdline: `^sleep ` + one + `$`}, want: []int{a}},
		{name: "unanchored", spec: Spec{Cmdline: `eep ` + one}, want: []int{a}},
		{name: "several refused", spec: Spec{Cmdline: `^sleep ` + two + `$`}, refused: true,
			err: fmt.Sprintf(`target cmdline "^sleep %s$" matches 2 processes (sleep[%d], sleep[%d]) and chaos does not guess (valid: pick: all`, two, min(b1, b2), max(b1, b2))},
		{name: "several picked", spec: Spec{Cmdline: `^sleep ` + two + `$`, Pick: "all"}, want: []int{min(b1, b2), max(b1, b2)}},
		{name: "bad expression", spec: Spec{Cmdline: `sleep (`}, err: `target cmdline "sleep (" is not a regular expression`},
		{name: "nothing", spec: Spec{Cmdline: `^no-such-command-` + one + `$`}, err: "matches nothing (no running process of yours has a command line it matches)"},
		{name: "ancestor refused", spec: Spec{Cmdline: `^` + regexp.QuoteMeta(parent) + `$`}, refused: true, err: "refused: it is an ancestor of chaos"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "ancestor refused" && (os.Getppid() <= 1 || parent == "") {
				t.Skip("no parent process to match")
			}
			got, ok := resolveCase(t, s, tc.spec, tc.err, tc.refused)
			if !ok {
				return
			}
			assert.Equal(t, tc.want, pids(got))
			assert.Equal(t, "sleep["+strconv.Itoa(got[0].Pid)+"]", got[0].Name)
		})
	}
}

func pids(ts []Target) []int {
	var out []int
	for _, t := range ts {
		out = append(out, t.Pid)
	}
	return out
}

// TestStaticResolvesPidfile: a pid file holding a running process's pid
// names it; a file that is missing, not regular (a FIFO must not hang the
// run), too big or not one number is refused with what is wrong; a stale
// file (the pid not running, or reused by a process started after the file
// was written) is refused; the guards apply to the pid it holds.
func TestStaticResolvesPidfile(t *testing.T) {
	s := &Static{Known: known()}
	dir := t.TempDir()
	pid := startSleep(t, uniqueSecs())
	gone := exec.Command("true")
	require.NoError(t, gone.Run())
	file := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o644))
		return p
	}
	good := file("good.pid", strconv.Itoa(pid)+"\n")
	old := file("old.pid", strconv.Itoa(pid)+"\n")
	require.NoError(t, os.Chtimes(old, time.Now().Add(-time.Hour), time.Now().Add(-time.Hour)))
	fifo := filepath.Join(dir, "fifo.pid")
	require.NoError(t, syscall.Mkfifo(fifo, 0o644))
	tests := []struct {
		name    string
		path    string
		want    int
		err     string
		refused bool
	}{
		{name: "running process", path: good, want: pid},
		{name: "white space around", path: file("ws.pid", "  "+strconv.Itoa(pid)+" \n\n"), want: pid},
		{name: "missing", path: filepath.Join(dir, "none.pid"), err: "no such file"},
		{name: "directory", path: dir, err: "not a regular file"},
		{name: "fifo", path: fifo, err: "not a regular file"},
		{name: "too big", path: file("big.pid", strings.Repeat("1", 100)), err: "100 bytes is too big for a pid file"},
		{name: "not a number", path: file("word.pid", "nginx\n"), err: `holds "nginx", not a pid`},
		{name: "two numbers", path: file("two.pid", "12 34\n"), err: `holds "12 34", not a pid`},
		{name: "zero", path: file("zero.pid", "0"), err: `holds "0", not a pid`},
		{name: "not running", path: file("gone.pid", strconv.Itoa(gone.Process.Pid)), err: fmt.Sprintf("holds pid %d, which is not running", gone.Process.Pid)},
		{name: "reused pid", path: old, refused: true, err: fmt.Sprintf("holds pid %d, but sleep[%d] started at", pid, pid)},
		{name: "chaos itself", path: file("self.pid", strconv.Itoa(os.Getpid())), refused: true, err: "refused: it is chaos itself"},
		{name: "init", path: file("init.pid", "1"), refused: true, err: "refused: it is the init of this machine or container"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan struct{})
			var got []Target
			var err error
			go func() { got, err = s.Resolve(context.Background(), Spec{Pidfile: tc.path}); close(done) }()
			select {
			case <-done:
			case <-time.After(5 * time.Second):
				t.Fatal("resolving the pid file hangs")
			}
			if tc.err != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tc.err)
				assert.Contains(t, err.Error(), "target pidfile "+tc.path)
				assert.Equal(t, tc.refused, errors.Is(err, ErrRefused), "%v", err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, []int{tc.want}, pids(got))
		})
	}
	t.Run("stack process", func(t *testing.T) {
		s := &Static{Known: []Target{{Name: "model-0", Service: "model", Pid: pid}}}
		got, err := s.Resolve(context.Background(), Spec{Pidfile: good})
		require.NoError(t, err)
		assert.Equal(t, []Target{{Name: "model-0", Service: "model", Pid: pid}}, got, "the stack's own target")
	})
}

// TestHelperListener is not a test: startListener runs the test binary with
// CHAOS_TEST_LISTEN set, and this listens there, writes "port pid…" and
// waits to be killed. With CHAOS_TEST_SHARE a child holds the socket too.
func TestHelperListener(t *testing.T) {
	addr := os.Getenv("CHAOS_TEST_LISTEN")
	if addr == "" {
		t.Skip("a helper process, not a test")
	}
	if os.Getenv("CHAOS_TEST_INHERITED") != "" { // holds fd 3, the shared socket
		fmt.Println(os.Getpid())
		time.Sleep(time.Hour)
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		fmt.Println("0", err)
		os.Exit(1)
	}
	line := fmt.Sprintf("%d %d", ln.Addr().(*net.TCPAddr).Port, os.Getpid())
	if os.Getenv("CHAOS_TEST_SHARE") != "" {
		f, err := ln.(*net.TCPListener).File()
		if err != nil {
			os.Exit(1)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^TestHelperListener$")
		cmd.Env = append(os.Environ(), "CHAOS_TEST_INHERITED=1")
		cmd.ExtraFiles = []*os.File{f}
		out, _ := cmd.StdoutPipe()
		if cmd.Start() != nil {
			os.Exit(1)
		}
		child, _ := bufio.NewReader(out).ReadString('\n')
		line += " " + strings.TrimSpace(child)
	}
	fmt.Println(line)
	time.Sleep(time.Hour)
}

// startListener runs a helper process listening on addr (as another user
// with cred) and returns the port and the pids that hold the socket.
func startListener(t *testing.T, addr string, share bool, cred *syscall.Credential) (int, []int) {
	t.Helper()
	bin := os.Args[0]
	if cred != nil { // another user must reach the binary
		dir := t.TempDir()
		for _, d := range []string{filepath.Dir(dir), dir} {
			require.NoError(t, os.Chmod(d, 0o755))
		}
		b, err := os.ReadFile(bin)
		require.NoError(t, err)
		bin = filepath.Join(dir, "listener.test")
		require.NoError(t, os.WriteFile(bin, b, 0o755))
	}
	var cmd *exec.Cmd
	var err error
	var r *bufio.Reader
	for try := 0; ; try++ { // a fork elsewhere may hold the new file open for a moment
		cmd = exec.Command(bin, "-test.run=^TestHelperListener$")
		cmd.Env = append(os.Environ(), "CHAOS_TEST_LISTEN="+addr)
		if share {
			cmd.Env = append(cmd.Env, "CHAOS_TEST_SHARE=1")
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
		out, perr := cmd.StdoutPipe()
		require.NoError(t, perr)
		r = bufio.NewReader(out)
		if err = cmd.Start(); err == nil || !errors.Is(err, syscall.ETXTBSY) || try == 20 {
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	require.NoError(t, err)
	var held []int
	t.Cleanup(func() {
		for _, p := range held[1:] {
			_ = syscall.Kill(p, syscall.SIGKILL)
		}
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	held = []int{cmd.Process.Pid}
	line, err := r.ReadString('\n')
	require.NoError(t, err)
	f := strings.Fields(line)
	port, _ := strconv.Atoi(f[0])
	require.NotZero(t, port, "helper: %s", line)
	held = held[:0]
	for _, p := range f[1:] {
		n, _ := strconv.Atoi(p)
		held = append(held, n)
	}
	return port, held
}

type portCase struct {
	name    string
	spec    Spec
	want    []int
	addr    string
	err     string
	refused bool
}

// TestStaticResolvesPort: the process listening on a TCP port (IPv4,
// IPv6, wildcard) is found through the socket inode, with an address to
// reach it; processes sharing the socket are all matches, refused unless
// picked; chaos itself, another user's process and a port nothing listens
// on are refused or said so.
func TestStaticResolvesPort(t *testing.T) {
	s := &Static{Known: known()}
	port4, p4 := startListener(t, "127.0.0.1:0", false, nil)
	portAny, pAny := startListener(t, "0.0.0.0:0", false, nil)
	portShared, pShared := startListener(t, "127.0.0.1:0", true, nil)
	mine, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer mine.Close()
	unused, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	portUnused := unused.Addr().(*net.TCPAddr).Port
	require.NoError(t, unused.Close())
	require.Len(t, pShared, 2)
	tests := []portCase{
		{name: "ipv4", spec: Spec{Port: port4}, want: p4, addr: fmt.Sprintf("127.0.0.1:%d", port4)},
		{name: "wildcard is reached on loopback", spec: Spec{Port: portAny}, want: pAny, addr: fmt.Sprintf("127.0.0.1:%d", portAny)},
		{name: "shared socket refused", spec: Spec{Port: portShared}, refused: true,
			err: fmt.Sprintf("target port %d matches 2 processes (", portShared)},
		{name: "shared socket picked", spec: Spec{Port: portShared, Pick: "all"}, want: []int{min(pShared[0], pShared[1]), max(pShared[0], pShared[1])}},
		{name: "chaos itself", spec: Spec{Port: mine.Addr().(*net.TCPAddr).Port}, refused: true, err: "refused: it is chaos itself"},
		{name: "nothing listens", spec: Spec{Port: portUnused}, err: fmt.Sprintf("target port %d: nothing listens on TCP port %d of this host (listening: ", portUnused, portUnused)},
		{name: "out of range", spec: Spec{Port: 70000}, err: "is not a TCP port"},
	}
	if ln, err := net.Listen("tcp6", "[::1]:0"); err == nil { // IPv6 where there is some
		_ = ln.Close()
		port6, p6 := startListener(t, "[::1]:0", false, nil)
		tests = append(tests, portCase{name: "ipv6", spec: Spec{Port: port6}, want: p6, addr: fmt.Sprintf("[::1]:%d", port6)})
	}
	if os.Geteuid() == 0 {
		portOther, pOther := startListener(t, "127.0.0.1:0", false, &syscall.Credential{Uid: 65534, Gid: 65534})
		tests = append(tests, portCase{name: "another user's", spec: Spec{Port: portOther}, refused: true, err: "refused: it belongs to uid 65534"},
			portCase{name: "another user's with allow_host", spec: Spec{Port: portOther, AllowHost: true}, want: pOther, addr: fmt.Sprintf("127.0.0.1:%d", portOther)})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := resolveCase(t, s, tc.spec, tc.err, tc.refused)
			if !ok {
				return
			}
			assert.Equal(t, tc.want, pids(got))
			if tc.addr != "" {
				assert.Equal(t, tc.addr, got[0].Addr)
			}
		})
	}
}

func TestParseHexAddr(t *testing.T) {
	if binary.NativeEndian.Uint16([]byte{1, 0}) != 1 {
		t.Skip("the rows below are as a little-endian kernel writes them")
	}
	for _, tc := range []struct{ in, want string }{
		{"0100007F:1F90", "127.0.0.1:8080"},
		{"00000000:0016", "0.0.0.0:22"},
		{"00000000000000000000000001000000:1F90", "[::1]:8080"},
		{"0000000000000000FFFF00000100007F:0050", "127.0.0.1:80"}, // v4-mapped
	} {
		ip, port, ok := parseHexAddr(tc.in)
		require.True(t, ok, tc.in)
		assert.Equal(t, tc.want, net.JoinHostPort(ip.String(), strconv.Itoa(port)), tc.in)
	}
	for _, bad := range []string{"", "0100007F", "0100007F:XYZ", "01007F:1F90", "0100007F:1FFFFF"} {
		_, _, ok := parseHexAddr(bad)
		assert.False(t, ok, bad)
	}
}

// TestDockerFallsBackForLocalSelectors: a Docker stack's resolver hands
// cmdline, pidfile and port targets to the static resolver behind it.
func TestDockerFallsBackForLocalSelectors(t *testing.T) {
	pid := startSleep(t, uniqueSecs())
	port, lpids := startListener(t, "127.0.0.1:0", false, nil)
	pidfile := filepath.Join(t.TempDir(), "x.pid")
	require.NoError(t, os.WriteFile(pidfile, []byte(strconv.Itoa(pid)), 0o644))
	line, _ := cmdline(pid)
	d := &Docker{API: &fakeLister{}, Project: "p", Fallback: &Static{}}
	for _, tc := range []struct {
		spec Spec
		want []int
	}{
		{Spec{Cmdline: "^" + regexp.QuoteMeta(line) + "$"}, []int{pid}},
		{Spec{Pidfile: pidfile}, []int{pid}},
		{Spec{Port: port}, lpids},
	} {
		got, err := d.Resolve(context.Background(), tc.spec)
		require.NoError(t, err, "%+v", tc.spec)
		assert.Equal(t, tc.want, pids(got))
	}
}
