// Command model is the example stack's OpenAI-compatible mock model server.
// See package github.com/chaos-sre/chaos/examples/model for its flags.
package main

import (
	"context"
	"os"
	"os/signal"
	"syscall"

	"github.com/chaos-sre/chaos/examples/model"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := model.Main(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
