package main

import (
	"bytes"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"
)

func TestFetch(t *testing.T) {
	ok := httptest.NewServer(greeting("backend"))
	defer ok.Close()
	failing := httptest.NewServer(http.NotFoundHandler())
	defer failing.Close()

	for _, tc := range []struct {
		name string
		url  string
		want int
	}{
		{"a 200 is success", ok.URL, 0},
		{"a 404 until the wait is over", failing.URL, 1},
		{"nothing listening", "http://127.0.0.1:1/", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			if got := fetch(tc.url, 700*time.Millisecond); got != tc.want {
				t.Errorf("fetch(%s) = %d, want %d", tc.url, got, tc.want)
			}
			if tc.want != 0 && time.Since(start) < 700*time.Millisecond {
				t.Errorf("fetch(%s) gave up after %v, before its wait", tc.url, time.Since(start))
			}
		})
	}
}

func TestProbe(t *testing.T) {
	srv := httptest.NewServer(greeting("backend"))
	defer srv.Close()
	var out bytes.Buffer
	stop := make(chan os.Signal, 1)
	go func() { time.Sleep(120 * time.Millisecond); stop <- os.Interrupt }()
	probe(&out, srv.URL, 50*time.Millisecond, stop)
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	if len(lines) < 2 {
		t.Fatalf("probe printed %q: want a line per 50 ms", out.String())
	}
	for _, l := range lines {
		var ms int64
		var lat float64
		var res string
		if n, err := fmt.Sscanf(l, "probe %d %f %s", &ms, &lat, &res); n != 3 || err != nil || res != "ok" || lat <= 0 {
			t.Errorf("line %q: want probe UNIX-MS LATENCY-MS ok (%v)", l, err)
		}
	}
	out.Reset()
	stop <- os.Interrupt
	probe(&out, "http://127.0.0.1:1/", time.Hour, stop)
	if !strings.HasPrefix(out.String(), "probe ") || strings.Contains(out.String(), " ok\n") {
		t.Errorf("nothing listening: got %q, want one line with the error", out.String())
	}
}
