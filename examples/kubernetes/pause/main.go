// Command pause is the test cluster's sandbox ("pause") image and its
// general-purpose test container (examples/kubernetes/cluster.sh): a static
// binary in a FROM-scratch image, because no image can be pulled. It holds a
// pod's namespaces open and does nothing until SIGTERM or SIGINT, then exits
// 0; as PID 1 of a pod that shares its process namespace it also reaps the
// orphans it inherits (on Unix).
//
// Two flags make it a backend and a client for Service tests, since the
// image has no shell: -listen ADDR also answers every HTTP request on ADDR
// with "pause HOSTNAME"; -get URL instead fetches URL (retrying for up to
// -wait), prints the body and exits 0 on a 200, 1 otherwise; with -every D
// it fetches URL every D until SIGTERM, printing one line per fetch,
// "probe UNIX-MS LATENCY-MS ok|ERROR" (a latency probe for tests).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
)

func main() {
	listen := flag.String("listen", "", "also answer HTTP requests on this address (e.g. :8080)")
	get := flag.String("get", "", "fetch this URL, print the body and exit (0 on a 200)")
	wait := flag.Duration("wait", 30*time.Second, "how long -get retries")
	every := flag.Duration("every", 0, "with -get: fetch every this long until SIGTERM, printing each fetch's time and latency")
	flag.Parse()
	if *get != "" && *every <= 0 {
		os.Exit(fetch(*get, *wait))
	}
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	if *get != "" {
		probe(os.Stdout, *get, *every, stop)
		return
	}
	reapChildren()
	if *listen != "" {
		name, _ := os.Hostname()
		srv := &http.Server{
			Addr:              *listen,
			ReadHeaderTimeout: 5 * time.Second,
			Handler:           greeting(name),
		}
		go func() {
			if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
				fmt.Fprintln(os.Stderr, "pause:", err)
				os.Exit(1)
			}
		}()
	}
	<-stop
}

// greeting answers every request with "pause NAME".
func greeting(name string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintf(w, "pause %s\n", name)
	})
}

// fetch gets url until it answers 200 or wait has passed.
func fetch(url string, wait time.Duration) int {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	client := &http.Client{Timeout: 5 * time.Second}
	for {
		err := get(ctx, client, url, os.Stdout)
		if err == nil {
			return 0
		}
		select {
		case <-ctx.Done():
			fmt.Fprintf(os.Stderr, "pause: get %s: %v\n", url, err)
			return 1
		case <-time.After(500 * time.Millisecond):
		}
	}
}

// probe fetches url every period until stop, one line per fetch: when it
// was sent (Unix milliseconds), how long it took (ms), ok or the error.
func probe(w io.Writer, url string, period time.Duration, stop <-chan os.Signal) {
	client := &http.Client{Timeout: 5 * time.Second}
	tick := time.NewTicker(period)
	defer tick.Stop()
	for {
		start := time.Now()
		res := "ok"
		if err := get(context.Background(), client, url, io.Discard); err != nil {
			res = strings.ReplaceAll(err.Error(), "\n", " ")
		}
		fmt.Fprintf(w, "probe %d %.1f %s\n", start.UnixMilli(), float64(time.Since(start).Microseconds())/1000, res)
		select {
		case <-stop:
			return
		case <-tick.C:
		}
	}
}

func get(ctx context.Context, client *http.Client, url string, out io.Writer) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %s", resp.Status)
	}
	_, err = out.Write(body)
	return err
}
