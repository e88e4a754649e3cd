package faults

import (
	"context"

	"github.com/chaos-sre/chaos/faults/journal"
)

// The unexported names below keep the flat proxy wrappers (latency.go …
// proxykind.go) compiling while they move into their family package; delete
// this file when nothing in package faults uses them.

type changes = Changes

type change struct {
	target, key, action string
	data                any
	undo                func(context.Context) error
	owned               bool
}

func (c *Changes) apply(env Env, ch change, do func() error) error {
	return c.Apply(env, Change{Target: ch.target, Key: ch.key, Action: ch.action, Data: ch.data, Undo: ch.undo, Owned: ch.owned}, do)
}

func (c *Changes) rollback(ctx context.Context) error { return c.Rollback(ctx) }

func decode[T any](e journal.Entry) (T, error) { return Decode[T](e) }

var proxyKey = ProxyKey
