package connection

import (
	"fmt"
	"net"
	"time"
)

// trickle sends one more header line on every held connection each tick;
// a connection that no longer takes them is closed (its watcher counts it).
func (h *hold) trickle() {
	defer h.wg.Done()
	t := time.NewTicker(h.every)
	defer t.Stop()
	for i := 0; ; i++ {
		select {
		case <-h.stop:
			return
		case <-t.C:
		}
		h.mu.Lock()
		conns := make([]net.Conn, 0, len(h.conns))
		for c := range h.conns {
			conns = append(conns, c)
		}
		h.mu.Unlock()
		for _, c := range conns {
			_ = c.SetWriteDeadline(time.Now().Add(time.Second))
			if _, err := fmt.Fprintf(c, "X-Chaos-%d: 1\r\n", i); err != nil {
				_ = c.Close()
			}
		}
	}
}
