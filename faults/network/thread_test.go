//go:build linux

package network

import (
	"runtime"
	"testing"

	"golang.org/x/sys/unix"
)

// goThrowaway never runs its function on the main thread, even when the
// goroutine that starts it is the one on the main thread (the main thread
// cannot be thrown away and would keep what f changed).
func TestThrowawayThreadIsNeverTheMainOne(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(1)) // new goroutines tend to run on this M
	onMain := 0
	for range 200 {
		got := make(chan int, 1)
		main := make(chan bool, 1)
		go func() {
			runtime.LockOSThread()
			defer runtime.UnlockOSThread()
			main <- unix.Gettid() == unix.Getpid()
			goThrowaway(func() { got <- unix.Gettid() })
		}()
		if <-main {
			onMain++
		}
		if tid := <-got; tid == unix.Getpid() {
			t.Fatalf("f ran on the main thread (tid %d)", tid)
		}
	}
	t.Logf("%d of 200 starts came from the main thread", onMain)
}
