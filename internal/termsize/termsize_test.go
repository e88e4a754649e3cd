package termsize

import (
	"os"
	"path/filepath"
	"testing"
)

// A regular file is not a terminal.
func TestColumnsOfAFile(t *testing.T) {
	f, err := os.Create(filepath.Join(t.TempDir(), "out"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if n, err := Columns(f); err == nil {
		t.Fatalf("Columns(a file) = %d, want an error", n)
	}
}
