package targets

import (
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func known() []Target {
	return []Target{
		{Name: "model-primary-0", Service: "model-primary", Pid: 101},
		{Name: "model-primary-1", Service: "model-primary", Pid: 102},
		{Name: "model-primary-2", Service: "model-primary", Pid: 103},
		{Name: "gateway-0", Service: "gateway", Pid: 200},
	}
}

func TestStaticResolve(t *testing.T) {
	s := &Static{Known: known(), Expand: func(u string) string { return "http://127.0.0.1:1/x" }}
	tests := []struct {
		name    string
		spec    Spec
		want    []string
		wantErr string
	}{
		{name: "service", spec: Spec{Service: "model-primary"}, want: []string{"model-primary-0", "model-primary-1", "model-primary-2"}},
		{name: "process by stack name", spec: Spec{Process: "gateway-0"}, want: []string{"gateway-0"}},
		{name: "pid of stack", spec: Spec{Pid: 102}, want: []string{"model-primary-1"}},
		{name: "url expanded", spec: Spec{URL: "${gateway}/x"}, want: []string{"http://127.0.0.1:1/x"}},
		{name: "unknown service lists valid", spec: Spec{Service: "model-primry"}, wantErr: `matches nothing (valid: gateway, model-primary)`},
		{name: "unknown process", spec: Spec{Process: "no-such-process-xyz"}, wantErr: "matches nothing"},
		{name: "empty", spec: Spec{}, wantErr: "names nothing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := resolveCase(t, s, tc.spec, tc.wantErr, false)
			if !ok {
				return
			}
			var names []string
			for _, g := range got {
				names = append(names, g.Name)
			}
			assert.Equal(t, tc.want, names)
		})
	}
}

func TestPick(t *testing.T) {
	ts := known()[:3]
	tests := []struct {
		pick    string
		n       int
		wantErr bool
	}{
		{"", 3, false}, {"all", 3, false}, {"one", 1, false}, {"2", 2, false},
		{"50%", 2, false}, {"1%", 1, false}, {"100%", 3, false},
		{"4", 0, true}, {"0", 0, true}, {"150%", 0, true}, {"some", 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.pick, func(t *testing.T) {
			got, err := Pick(ts, tc.pick, rand.New(rand.NewPCG(1, 2)))
			if tc.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Len(t, got, tc.n)
		})
	}
}

func TestPickRepeatsUnderSeed(t *testing.T) {
	ts := known()
	a, _ := Pick(ts, "one", rand.New(rand.NewPCG(7, 7)))
	b, _ := Pick(ts, "one", rand.New(rand.NewPCG(7, 7)))
	assert.Equal(t, a, b)
	seen := map[string]bool{}
	for seed := uint64(0); seed < 50; seed++ {
		p, _ := Pick(ts, "one", rand.New(rand.NewPCG(seed, seed)))
		seen[p[0].Name] = true
	}
	assert.Greater(t, len(seen), 1, "different seeds pick different targets")
}
