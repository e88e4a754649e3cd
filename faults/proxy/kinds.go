package proxy

import (
	"maps"
	"slices"
)

// kindList is every fault kind a route runs: one line per kind, the only
// list of them. Each kind's own file declares its Kind (parameters,
// validation, what it does on a route); the experiment registry
// (faults/kinds) adapts every kind of this list.
var kindList = []KindInfo{
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
}

var kinds = table(kindList)

// KindList returns every proxy fault kind, in the list's order.
func KindList() []KindInfo { return slices.Clone(kindList) }

func table(list []KindInfo) map[string]KindInfo {
	m := make(map[string]KindInfo, len(list))
	for _, k := range list {
		if _, dup := m[k.KindName()]; dup {
			panic("proxy: fault kind " + k.KindName() + " is listed twice")
		}
		m[k.KindName()] = k
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
