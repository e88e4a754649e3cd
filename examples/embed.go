// Package examples holds the example inference stack (model server, gateway,
// launcher) and the experiments bundled with chaos.
package examples

import "embed"

// Local holds the experiments `chaos demo` runs against the local stack.
//
//go:embed experiments/local/*.yaml
var Local embed.FS
