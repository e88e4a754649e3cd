package proxy

import "sync/atomic"

// The portable relay. Where there are no event loops (relay_other.go: every
// OS but Linux) a route moves bytes with goroutines and nothing else: a tcp
// connection without a fault takes the same two io.Copy pipes as one with
// faults (tcp.go), and every http connection goes straight to the net/http
// server, which runs the fault chain (Route.ServeHTTP) and the forwarder.
// All of it is in untagged files, so Linux tests drive it too by setting
// portableRelay.

// portableRelay makes connections accepted while it is set skip the event
// loops even where the OS has them (tests).
var portableRelay atomic.Bool

// useLoops says whether connections go to the event loops.
func useLoops() bool { return hasLoops && !portableRelay.Load() }
