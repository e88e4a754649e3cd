//go:build !linux

package proxy

import (
	"errors"
	"net"
	"runtime"
)

// hasLoops: the event loops (relay_linux.go) are epoll's; off Linux every
// route takes the portable relay (portable.go).
const hasLoops = false

var errNoLoops = errors.New("no event loops on " + runtime.GOOS)

// relayTCP is never called off Linux (useLoops is false).
func (rt *Route) relayTCP(net.Conn, net.Conn, func()) error { return errNoLoops }

// relayHTTP is never called off Linux (useLoops is false).
func (rt *Route) relayHTTP(net.Conn, net.Conn, func(net.Conn)) error { return errNoLoops }
