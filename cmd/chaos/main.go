// Command chaos injects faults into a running AI-inference stack while real
// traffic flows, and answers with evidence whether its breakers, fallbacks
// and shedding held and how fast it recovered.
package main

import (
	"os"

	"github.com/chaos-sre/chaos/examples/stack"
)

func main() {
	stack.MaybeRunRole() // the local example stack re-executes this binary
	os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr))
}
