package proxy

import (
	"maps"
	"slices"
)

// kinds is every fault kind a route runs, by name: one line per kind. Each
// kind's own file declares its Kind (parameters, validation, what it does on
// a route); the experiment registry (faults/kinds) adapts each Kind with
// one line of its own.
var kinds = table(
	LatencyKind,
	JitterKind,
	HTTPErrorKind,
	TTFBKind,
	StreamStallKind,
	StreamCutKind,
	SlowTokensKind,
	FailFirstKind,
	BandwidthKind,
	ResetKind,
	TimeoutKind,
	BlackholeKind,
	SlowCloseKind,
	SlicerKind,
	LimitDataKind,
	HTTPHeaderKind,
)

func table(list ...kindInfo) map[string]kindInfo {
	m := make(map[string]kindInfo, len(list))
	for _, k := range list {
		if _, dup := m[k.name()]; dup {
			panic("proxy: fault kind " + k.name() + " is listed twice")
		}
		m[k.name()] = k
	}
	return m
}

// KindNames lists every proxy fault kind, sorted.
func KindNames() []string { return slices.Sorted(maps.Keys(kinds)) }

// Kinds lists the kinds a route of mode m runs, sorted.
func Kinds(m Mode) []string {
	var out []string
	for name, k := range kinds {
		p := k.bare()
		_, h := p.(httpKind)
		_, t := p.(tcpKind)
		if (m == ModeHTTP && h) || (m == ModeTCP && t) {
			out = append(out, name)
		}
	}
	slices.Sort(out)
	return out
}
