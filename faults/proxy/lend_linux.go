package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// A request the loop does not serve itself (a stream fault matches it) is
// lent to the fault chain: the pair leaves the loop's epoll set, a goroutine
// reads that one request from the client socket, runs it through the route's
// chain (rt.ServeHTTP, forwarding on the net/http Transport's own upstream
// connections) and writes the answer; then it gives the pair back with the
// bytes it read past the request, and the loop goes on with the next
// request. The pair's own upstream connection waits unused meanwhile.

// returned is a lent pair on its way back to its loop.
type returned struct {
	p     *pair
	rest  []byte // client bytes read past the request
	close bool   // the answer ended the connection
}

// lend takes p off the loop and serves the request whose bytes so far are
// unread in a goroutine.
func (l *evloop) lend(p *pair, unread []byte) {
	fd, err := unix.FcntlInt(uintptr(p.a.fd), unix.F_DUPFD_CLOEXEC, 0)
	if err != nil {
		l.close(p, true)
		return
	}
	file := os.NewFile(uintptr(fd), "client")
	c, err := net.FileConn(file) // its own descriptor, in Go's poller
	_ = file.Close()
	if err != nil {
		l.close(p, true)
		return
	}
	l.unhold(p)
	_ = unix.EpollCtl(l.ep, unix.EPOLL_CTL_DEL, p.a.fd, nil)
	_ = unix.EpollCtl(l.ep, unix.EPOLL_CTL_DEL, p.b.fd, nil)
	p.flow.rt.lent.Add(1)
	go l.serveOne(p, c, append([]byte(nil), unread...))
}

// serveOne runs one request through the fault chain and gives p back.
func (l *evloop) serveOne(p *pair, c net.Conn, unread []byte) {
	ur := bytes.NewReader(unread)
	br := bufio.NewReaderSize(io.MultiReader(ur, c), len(unread)+4096)
	back := returned{p: p, close: true}
	if req, err := http.ReadRequest(br); err == nil {
		req.RemoteAddr = c.RemoteAddr().String()
		w := &oneWriter{bw: bufio.NewWriterSize(c, 16<<10), h: http.Header{}, isHead: req.Method == http.MethodHead}
		ok := w.serve(p.flow.rt, req)
		// the rest of a body the chain did not read, up to a bound
		_, err := io.CopyN(io.Discard, req.Body, 256<<10)
		back.close = !ok || req.Close || w.close || !errors.Is(err, io.EOF)
		if !back.close {
			back.rest = make([]byte, br.Buffered()+ur.Len())
			_, _ = io.ReadFull(br, back.rest[:br.Buffered()])
			_, _ = ur.Read(back.rest[br.Buffered():])
		}
	}
	_ = c.Close() // the duplicate; the loop's descriptor stays open
	l.mu.Lock()
	l.returned = append(l.returned, back)
	l.mu.Unlock()
	one := [8]byte{1}
	_, _ = unix.Write(l.wake, one[:])
}

// welcomeBack puts a lent pair back in the loop's epoll set and goes on
// with its next request.
func (l *evloop) welcomeBack(r returned) {
	p := r.p
	p.flow.rt.returns.Add(1)
	for _, s := range []*side{&p.a, &p.b} {
		ev := &unix.EpollEvent{Events: unix.EPOLLIN | unix.EPOLLOUT | unix.EPOLLRDHUP | unix.EPOLLET, Fd: int32(s.fd)}
		if err := unix.EpollCtl(l.ep, unix.EPOLL_CTL_ADD, s.fd, ev); err != nil {
			r.close = true
		}
		s.readable = true // what came meanwhile brought no edge this loop saw
	}
	if r.close {
		l.close(p, false)
		return
	}
	f := p.flow
	f.at, f.head, f.rest = atRequestHead, f.head[:0], r.rest
	l.flowFlushed(p)
	l.pump(&p.b) // the upstream may have closed meanwhile
}

// oneWriter is the http.ResponseWriter of a lent request: HTTP/1.1 on the
// client connection, with the body framed as the chain's headers say
// (Content-Length as given, else chunked) and every Flush sent at once.
type oneWriter struct {
	bw      *bufio.Writer
	h       http.Header
	isHead  bool
	wrote   bool // the final head is out
	chunked bool
	nobody  bool
	body    bool // a byte of the body was written
	close   bool // the connection ends with this answer
}

// serve runs the route's chain; false: it aborted the answer.
func (w *oneWriter) serve(rt *Route, req *http.Request) (ok bool) {
	defer func() {
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler {
				panic(v)
			}
			_ = w.bw.Flush()
			ok = false
		}
	}()
	rt.ServeHTTP(w, req)
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if w.chunked {
		_, _ = w.bw.WriteString("0\r\n\r\n")
	}
	return w.bw.Flush() == nil
}

func (w *oneWriter) Header() http.Header { return w.h }

func (w *oneWriter) WriteHeader(code int) {
	if w.wrote {
		return
	}
	_, _ = w.bw.WriteString("HTTP/1.1 " + strconv.Itoa(code) + " " + http.StatusText(code) + "\r\n")
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		_ = w.h.Write(w.bw)
		_, _ = w.bw.WriteString("\r\n")
		_ = w.bw.Flush()
		return
	}
	w.wrote = true
	w.nobody = w.isHead || code == http.StatusNoContent || code == http.StatusNotModified
	if _, err := strconv.ParseInt(w.h.Get("Content-Length"), 10, 64); err != nil && !w.nobody {
		w.h.Del("Content-Length")
		w.h.Set("Transfer-Encoding", "chunked")
		w.chunked = true
	}
	if w.h.Get("Connection") == "close" {
		w.close = true
	}
	_ = w.h.Write(w.bw)
	_, _ = w.bw.WriteString("\r\n")
}

func (w *oneWriter) Write(b []byte) (int, error) {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if w.nobody || len(b) == 0 {
		return len(b), nil
	}
	if w.chunked {
		_, _ = w.bw.WriteString(strconv.FormatInt(int64(len(b)), 16) + "\r\n")
	}
	w.body = true
	n, err := w.bw.Write(b)
	if w.chunked && err == nil {
		_, err = w.bw.WriteString("\r\n")
	}
	return n, err
}

// Flush implements http.Flusher.
func (w *oneWriter) Flush() { _ = w.FlushError() }

// FlushError sends what is buffered (http.ResponseController uses it),
// but not a head alone: ReverseProxy flushes the head at once from a timer
// of its own, and a fault that holds the first event (stream-stall after 0)
// holds the head with it.
func (w *oneWriter) FlushError() error {
	if !w.wrote {
		w.WriteHeader(http.StatusOK)
	}
	if !w.body {
		return nil
	}
	return w.bw.Flush()
}
