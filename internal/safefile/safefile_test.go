//go:build unix

package safefile

import (
	"errors"
	"io/fs"
	"net"
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestRead: a regular file up to MaxSize is read whole; anything else is
// refused with the path, what is wrong and what is valid — without reading a
// big file and without blocking on a FIFO.
func TestRead(t *testing.T) {
	dir := t.TempDir()
	mk := func(name string, make func(p string) error) string {
		p := filepath.Join(dir, name)
		require.NoError(t, make(p))
		return p
	}
	sparse := func(n int64) func(string) error {
		return func(p string) error {
			if err := os.WriteFile(p, nil, 0o644); err != nil {
				return err
			}
			return os.Truncate(p, n)
		}
	}
	tests := []struct {
		name string
		path string
		want string // "" when the read succeeds
		size int
	}{
		{"regular file", mk("ok.yaml", func(p string) error { return os.WriteFile(p, []byte("name: x\n"), 0o644) }), "", 8},
		{"empty file", mk("empty.yaml", func(p string) error { return os.WriteFile(p, nil, 0o644) }), "", 0},
		{"exactly the limit", mk("limit.yaml", sparse(MaxSize)), "", MaxSize},
		{"symlink to a file", mk("link.yaml", func(p string) error { return os.Symlink(filepath.Join(dir, "ok.yaml"), p) }), "", 8},
		{"one byte over", mk("over.yaml", sparse(MaxSize+1)), "over.yaml: is 8388609 bytes, over the 8 MiB limit on input files (valid: the experiment as a regular file of at most 8 MiB)", 0},
		{"80 MiB sparse", mk("big.yaml", sparse(80<<20)), "big.yaml: is 80 MiB, over the 8 MiB limit on input files (valid: the experiment as a regular file of at most 8 MiB)", 0},
		{"FIFO", mk("fifo.yaml", func(p string) error { return syscall.Mkfifo(p, 0o644) }), "fifo.yaml: is a named pipe (FIFO), not a file (valid: the experiment as a regular file of at most 8 MiB)", 0},
		{"directory", mk("dir.yaml", func(p string) error { return os.Mkdir(p, 0o755) }), "dir.yaml: is a directory, not a file (valid: the experiment", 0},
		{"character device", "/dev/zero", "/dev/zero: is a character device, not a file", 0},
		{"missing", filepath.Join(dir, "nothere.yaml"), "nothere.yaml: cannot read the experiment: no such file or directory", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			data, err := readWithin(t, tt.path)
			if tt.want == "" {
				require.NoError(t, err)
				assert.Len(t, data, tt.size)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.want)
			var fe *Error
			require.ErrorAs(t, err, &fe)
			assert.Equal(t, tt.path, fe.Path)
		})
	}
}

// TestReadLimit: a limit of its own, for results that grow with a run.
func TestReadLimit(t *testing.T) {
	p := filepath.Join(t.TempDir(), "result.json")
	require.NoError(t, os.WriteFile(p, []byte("12345678"), 0o644))
	_, err := ReadLimit(p, "result", 4)
	require.Error(t, err)
	assert.Equal(t, p+": is 8 bytes, over the 4 bytes limit on input files (valid: the result as a regular file of at most 4 bytes)", err.Error())
	data, err := ReadLimit(p, "result", 8)
	require.NoError(t, err)
	assert.Equal(t, "12345678", string(data))
}

// TestReadSocket refuses a unix socket (a separate test: its path must be
// short, and some sandboxes forbid binding one).
func TestReadSocket(t *testing.T) {
	p := filepath.Join(os.TempDir(), "chaos-safefile-test.sock")
	_ = os.Remove(p)
	l, err := net.Listen("unix", p)
	if err != nil {
		t.Skipf("cannot bind a unix socket: %v", err)
	}
	t.Cleanup(func() { l.Close(); _ = os.Remove(p) })
	_, err = readWithin(t, p)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "is a socket, not a file")
}

func TestReadMissingIsNotExist(t *testing.T) {
	_, err := Read(filepath.Join(t.TempDir(), "x.yaml"), "suite")
	assert.True(t, errors.Is(err, fs.ErrNotExist), "%v", err)
	assert.Contains(t, err.Error(), "cannot read the suite")
}

// readWithin reads path, failing the test if Read hangs (as an open of a
// FIFO without O_NONBLOCK would): a guard against a hang, not a timing.
func readWithin(t *testing.T, path string) ([]byte, error) {
	t.Helper()
	type result struct {
		data []byte
		err  error
	}
	ch := make(chan result, 1)
	go func() {
		data, err := Read(path, "experiment")
		ch <- result{data, err}
	}()
	select {
	case r := <-ch:
		return r.data, r.err
	case <-time.After(time.Minute):
		t.Fatalf("Read(%s) hangs", path)
		return nil, nil
	}
}

func BenchmarkReadRefusesBigFile(b *testing.B) {
	p := filepath.Join(b.TempDir(), "big.yaml")
	require.NoError(b, os.WriteFile(p, nil, 0o644))
	require.NoError(b, os.Truncate(p, 80<<20))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Read(p, "experiment"); err == nil {
			b.Fatal("read an 80 MiB file")
		}
	}
}
