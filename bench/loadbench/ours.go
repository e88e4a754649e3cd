package main

import (
	"context"
	"fmt"
	"time"

	"github.com/chaos-sre/chaos/verify/load"
)

// runOurs runs our generator at rate for o.dur and measures it.
func runOurs(ctx context.Context, url, ctl string, rate float64, o options) (row, error) {
	g, err := load.New(load.Config{
		URL:         url,
		Body:        []byte(`{"model":"stub","max_tokens":8,"messages":[{"role":"user","content":"hi"}]}`),
		Stages:      []load.Stage{{Rate: rate}},
		Timeout:     5 * time.Second,
		Connections: o.conns,
		MaxDuration: o.dur,
	})
	if err != nil {
		return row{}, err
	}
	if _, err := stubStats(ctl, true); err != nil {
		return row{}, err
	}
	cpu0, _ := rusageSelf()
	if err := g.Run(ctx); err != nil {
		return row{}, err
	}
	cpu1, rss := rusageSelf()
	st := g.Stats()
	tl := g.Timeline()
	s := tl.Summary(tl.Start(), tl.Start().Add(o.dur), "")
	c, err := stubStats(ctl, false)
	if err != nil {
		return row{}, err
	}
	r := row{tool: "ours", rate: rate, achieved: float64(s.OK) / o.dur.Seconds(),
		lagP50: s.SendLag.P50, lagP99: s.SendLag.P99, latP99: s.Latency.P99, rssMB: rss, opened: c.Opened, peak: c.Peak,
		requests: st.Completed, errors: s.Errors}
	if st.Completed > 0 {
		r.cpuPerReq = float64((cpu1 - cpu0).Microseconds()) / float64(st.Completed)
	}
	if st.Unsent > 0 {
		r.notes = fmt.Sprintf("unsent %d", st.Unsent)
	}
	return r, nil
}
