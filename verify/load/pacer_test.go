package load

import (
	"math"
	"testing"
	"time"
)

// hitsPerSecond counts the pacer's hits in each second of [0, n s).
func hitsPerSecond(p *pacer, n int) []int {
	out := make([]int, n)
	for {
		at, ok := p.next()
		if !ok || at >= time.Duration(n)*time.Second {
			return out
		}
		out[int(at/time.Second)]++
		p.advance()
	}
}

func TestPacerStages(t *testing.T) {
	tests := []struct {
		name   string
		stages []Stage
		want   []int // hits per second, ±1
	}{
		{"constant", []Stage{{Rate: 100}}, []int{100, 100, 100}},
		{"steps then hold", []Stage{{Rate: 10, For: time.Second}, {Rate: 50, For: time.Second}}, []int{10, 50, 50, 50}},
		{"ramp up", []Stage{{Rate: 0, RampTo: 200, For: 2 * time.Second}}, []int{50, 150, 200, 200}},
		{"ramp down", []Stage{{Rate: 300, RampTo: 100, For: 2 * time.Second}}, []int{250, 150, 100}},
		{"pause", []Stage{{Rate: 20, For: time.Second}, {Rate: 0, For: time.Second}, {Rate: 20, For: time.Second}}, []int{20, 0, 20, 20}},
		{"ends at zero", []Stage{{Rate: 30, For: time.Second}, {Rate: 0}}, []int{30, 0, 0}},
		{"fractional", []Stage{{Rate: 2.5}}, []int{3, 2, 3, 2}},
		{"none", nil, []int{0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := hitsPerSecond(newPacer(tt.stages), len(tt.want))
			for i := range got {
				if math.Abs(float64(got[i]-tt.want[i])) > 1 {
					t.Fatalf("hits per second = %v, want %v (±1)", got, tt.want)
				}
			}
		})
	}
}

func TestPacerSetRate(t *testing.T) {
	p := newPacer([]Stage{{Rate: 10}})
	p.setRate(500*time.Millisecond, 100)
	at, _ := p.next()
	if at != 500*time.Millisecond {
		t.Fatalf("first hit after setRate at %v, want 500ms", at)
	}
	if got := hitsPerSecond(p, 2); got[0] != 50 || got[1] != 100 {
		t.Fatalf("hits per second = %v, want [50 100]", got)
	}
	p.setRate(2*time.Second, 0)
	if _, ok := p.next(); ok {
		t.Fatal("rate 0: next() reported a hit")
	}
}
