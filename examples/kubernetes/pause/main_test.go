package main

import (
	"net/http"
	"net/http/httptest"
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
