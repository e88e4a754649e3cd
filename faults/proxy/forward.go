package proxy

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"time"
)

// newForwarder is the http mode's way upstream: a reverse proxy that keeps
// the request as it came (Host, headers, no X-Forwarded-For), flushes every
// write at once (SSE passes event by event) and pools upstream connections
// for the concurrency a load test brings.
func newForwarder(rt *Route, u *url.URL) http.Handler {
	tr := &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 2 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
		MaxIdleConns:        1024,
		MaxIdleConnsPerHost: 1024,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true, // pass bodies as they are
		WriteBufferSize:     16 << 10,
		ReadBufferSize:      16 << 10,
	}
	return &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.Out.URL.Scheme = u.Scheme
			pr.Out.URL.Host = u.Host
			pr.Out.Host = pr.In.Host
		},
		Transport:     tr,
		FlushInterval: -1,
		BufferPool:    bufferPool{},
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if errors.Is(r.Context().Err(), context.Canceled) {
				return
			}
			rt.upstreamKO.Add(1)
			http.Error(w, "chaos proxy: upstream "+rt.upstream+": "+err.Error(), http.StatusBadGateway)
		},
	}
}
