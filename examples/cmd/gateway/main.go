// Command gateway is the example stack's inference gateway, the system under test.
// See package github.com/chaos-sre/chaos/examples/gateway for its flags.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/chaos-sre/chaos/examples/gateway"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := gateway.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
