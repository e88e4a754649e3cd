package proxy

import "sync"

// bufferPool reuses the 32 KiB copy buffers of both modes.
type bufferPool struct{}

var bufs = sync.Pool{New: func() any { b := make([]byte, 32<<10); return &b }}

// Get implements httputil.BufferPool.
func (bufferPool) Get() []byte { return *(bufs.Get().(*[]byte)) }

// Put implements httputil.BufferPool.
func (bufferPool) Put(b []byte) {
	if cap(b) >= 32<<10 {
		b = b[:32<<10]
		bufs.Put(&b)
	}
}
