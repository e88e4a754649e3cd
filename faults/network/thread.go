//go:build linux

package network

import (
	"runtime"

	"golang.org/x/sys/unix"
)

// goThrowaway runs f in a new goroutine on an OS thread of its own that is
// thrown away when f returns, so f may change the thread for good (its
// network namespace, scheduling policy, timer slack). Go ends a thread
// whose goroutine exits locked, but not the process's main thread: that one
// would stay changed for good, and everything that reads /proc/self (which
// follows the main thread: the port resolver's /proc/self/net/tcp, the
// host-namespace guard) would see the wrong namespace. So when the locked
// thread is the main one, this goroutine keeps it and f runs on another.
func goThrowaway(f func()) {
	go func() {
		runtime.LockOSThread()
		if unix.Gettid() != unix.Getpid() {
			f() // never unlocked: the thread goes with the goroutine
			return
		}
		done := make(chan struct{})
		go func() {
			defer close(done)
			runtime.LockOSThread() // not the main thread: this goroutine holds it
			f()
		}()
		<-done
		runtime.UnlockOSThread()
	}()
}
