// Package e2ecompose holds the end-to-end tests of chaos against the example
// compose stack (examples/compose): each brings a compose project up, runs
// the built chaos binary against it and brings it down. They are a package
// of their own so that cmd/chaos's tests and these each stay far from the
// go test timeout; only its tests are here.
package e2ecompose
