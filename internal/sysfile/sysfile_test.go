package sysfile

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// TestTryLock: an exclusive lock stops a second open file's exclusive and
// shared locks; shared locks share; closing the holder frees the file.
func TestTryLock(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	open := func() *os.File {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|NoFollow, 0o600)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		return f
	}
	a, b := open(), open()
	if err := TryLock(a, true); err != nil {
		t.Fatalf("first exclusive lock: %v", err)
	}
	if err := TryLock(b, true); !errors.Is(err, ErrLocked) {
		t.Fatalf("second exclusive lock: %v, want ErrLocked", err)
	}
	if err := TryLock(b, false); !errors.Is(err, ErrLocked) {
		t.Fatalf("shared lock under an exclusive one: %v, want ErrLocked", err)
	}
	if _, err := a.WriteString("held"); err != nil {
		t.Fatal(err)
	}
	if got, err := os.ReadFile(path); err != nil || string(got) != "held" {
		t.Fatalf("reading a locked file: %q, %v (the lock must not cover the content)", got, err)
	}
	a.Close()
	if err := TryLock(b, false); err != nil {
		t.Fatalf("shared lock once the holder closed: %v", err)
	}
	if err := TryLock(open(), false); err != nil {
		t.Fatalf("a second shared lock: %v", err)
	}
	if err := Writable(filepath.Dir(path)); err != nil {
		t.Fatalf("Writable(own temp dir): %v", err)
	}
}

// TestCloseRemoving: the file is gone and closed; gone already is success.
func TestCloseRemoving(t *testing.T) {
	path := filepath.Join(t.TempDir(), "f")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := TryLock(f, true); err != nil {
		t.Fatal(err)
	}
	if err := CloseRemoving(f, path); err != nil {
		t.Fatalf("CloseRemoving: %v", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the file is still there: %v", err)
	}
	if _, err := f.Write([]byte("x")); err == nil {
		t.Fatal("the file is still open")
	}
	g, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	os.Remove(path)
	if err := CloseRemoving(g, path); err != nil {
		t.Fatalf("CloseRemoving of a file already gone: %v", err)
	}
}
