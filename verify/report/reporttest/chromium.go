// Package reporttest opens chaos HTML reports in headless Chromium for
// tests, and judges the screenshot.
package reporttest

import (
	"bytes"
	"context"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"
)

// Chromium finds the browser. Missing, it skips the test, or fails it when
// CHAOS_REQUIRE_DOCKER=1 (CI, where .ci/run installs Debian's chromium).
func Chromium(t testing.TB) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	if os.Getenv("CHAOS_REQUIRE_DOCKER") == "1" {
		t.Fatal("chromium is not installed (apt-get install -y chromium); CHAOS_REQUIRE_DOCKER=1 requires it")
	}
	t.Skip("chromium is not installed (apt-get install -y chromium)")
	return ""
}

// Screenshot renders the HTML file at page with no network (every host
// resolves to nothing, and the proxy is a dead end) and returns the PNG.
func Screenshot(t testing.TB, page string, width, height int) []byte {
	t.Helper()
	bin := Chromium(t)
	abs, err := filepath.Abs(page)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "shot.png")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
		"--no-first-run", "--disable-extensions", "--user-data-dir="+filepath.Join(dir, "profile"),
		"--host-resolver-rules=MAP * ~NOTFOUND", "--proxy-server=127.0.0.1:9", "--proxy-bypass-list=<-loopback>",
		"--screenshot="+out, "--window-size="+strconv.Itoa(width)+","+strconv.Itoa(height), "file://"+abs)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium: %v\n%s", err, stderr.String())
	}
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatalf("chromium wrote no screenshot: %v\n%s", err, stderr.String())
	}
	return b
}

// Ink decodes a PNG and counts its distinct colours and the share of pixels
// that are not (near) white: a blank page has one colour and no ink.
func Ink(t testing.TB, b []byte) (colours int, inked float64) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("screenshot is not a PNG: %v", err)
	}
	return ink(img)
}

func ink(img image.Image) (int, float64) {
	seen := map[uint32]bool{}
	r := img.Bounds()
	n, total := 0, 0
	for y := r.Min.Y; y < r.Max.Y; y++ {
		for x := r.Min.X; x < r.Max.X; x++ {
			cr, cg, cb, _ := img.At(x, y).RGBA()
			seen[(cr>>8)<<16|(cg>>8)<<8|cb>>8] = true
			total++
			if cr < 0xf000 || cg < 0xf000 || cb < 0xf000 {
				n++
			}
		}
	}
	return len(seen), float64(n) / float64(max(total, 1))
}
