package targets

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"math/rand/v2"
	"testing"

	"github.com/docker/docker/api/types/container"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeLister answers ContainerList from a fixed list, honouring label
// filters the way the daemon does.
type fakeLister struct{ cs []container.Summary }

func (f *fakeLister) ContainerList(_ context.Context, o container.ListOptions) ([]container.Summary, error) {
	var out []container.Summary
next:
	for _, c := range f.cs {
		for _, l := range o.Filters.Get("label") {
			k, v, _ := cutEq(l)
			if c.Labels[k] != v {
				continue next
			}
		}
		out = append(out, c)
	}
	return out, nil
}

func cutEq(s string) (string, string, bool) {
	for i := range s {
		if s[i] == '=' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func composeContainer(project, service string, n int, state string) container.Summary {
	name := project + "_" + service + "_" + string(rune('0'+n))
	return container.Summary{ID: fakeID(name), Names: []string{"/" + name}, State: state,
		Labels: map[string]string{LabelProject: project, LabelService: service, "tier": service}}
}

// fakeID is a 64-hex container ID derived from name, as the daemon's look.
func fakeID(name string) string {
	sum := sha256.Sum256([]byte(name))
	return hex.EncodeToString(sum[:])
}

func TestDockerResolve(t *testing.T) {
	api := &fakeLister{cs: []container.Summary{
		composeContainer("inf", "model-primary", 2, "running"),
		composeContainer("inf", "model-primary", 1, "paused"),
		composeContainer("inf", "gateway", 1, "running"),
		composeContainer("inf", "model-fallback", 1, "exited"),
		composeContainer("other", "model-primary", 1, "running"),
	}}
	d := &Docker{API: api, Project: "inf", Fallback: &Static{}}
	ctx := context.Background()
	tests := []struct {
		name    string
		spec    Spec
		want    []string
		wantErr string
	}{
		{"service, sorted, paused counts", Spec{Service: "model-primary"}, []string{"inf_model-primary_1", "inf_model-primary_2"}, ""},
		{"other project", Spec{Service: "model-primary", Project: "other"}, []string{"other_model-primary_1"}, ""},
		{"container by name", Spec{Container: "inf_gateway_1"}, []string{"inf_gateway_1"}, ""},
		{"container by id prefix", Spec{Container: fakeID("inf_gateway_1")[:12]}, []string{"inf_gateway_1"}, ""},
		{"labels", Spec{Labels: map[string]string{"tier": "gateway"}}, []string{"inf_gateway_1"}, ""},
		{"typo lists the services", Spec{Service: "model-primry"}, nil, `target service "model-primry" of compose project "inf" matches no container (services found: gateway, model-fallback, model-primary)`},
		{"stopped says so", Spec{Service: "model-fallback"}, nil, "found, not running: inf_model-fallback_1 (exited)"},
		{"project not up", Spec{Service: "gateway", Project: "nope"}, nil, `no container of compose project "nope" is there: is the stack up?`},
		{"no container", Spec{Container: "ghost"}, nil, `target container "ghost" matches no container (containers found: inf_gateway_1`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ts, ok := resolveCase(t, d, tc.spec, tc.wantErr, false)
			if !ok {
				return
			}
			var names []string
			for _, x := range ts {
				names = append(names, x.Name)
				assert.NotEmpty(t, x.Container)
			}
			assert.Equal(t, tc.want, names)
		})
	}
	all, err := d.ResolveAll(ctx, Spec{Service: "model-fallback"})
	require.NoError(t, err)
	assert.Len(t, all, 1, "ResolveAll finds stopped containers")

	u, err := d.Resolve(ctx, Spec{URL: "http://x/"})
	require.NoError(t, err)
	assert.Equal(t, "http://x/", u[0].URL, "other specs go to the fallback resolver")

	// a seeded pick over the sorted matches repeats
	ts, _ := d.Resolve(ctx, Spec{Service: "model-primary"})
	a, _ := Pick(ts, "one", rand.New(rand.NewPCG(7, 7)))
	b, _ := Pick(ts, "one", rand.New(rand.NewPCG(7, 7)))
	assert.Equal(t, a, b)
}

func TestComposeProject(t *testing.T) {
	t.Setenv("COMPOSE_PROJECT_NAME", "")
	assert.Equal(t, "mystack2", ComposeProject("/srv/My.Stack 2/docker-compose.yml"))
	t.Setenv("COMPOSE_PROJECT_NAME", "ci42")
	assert.Equal(t, "ci42", ComposeProject("/srv/x/docker-compose.yml"))
}

// TestDockerRefusesGuesses: a container is named by its exact name or 12+
// characters of its ID, and a container or labels target that matches more
// than one container needs a pick; every refusal is an invalid experiment.
func TestDockerRefusesGuesses(t *testing.T) {
	a := container.Summary{ID: "2a" + fakeID("a")[2:], Names: []string{"/a"}, State: "running", Labels: map[string]string{"role": "model"}}
	b := container.Summary{ID: "2b" + fakeID("b")[2:], Names: []string{"/b"}, State: "running", Labels: map[string]string{"role": "model"}}
	short := container.Summary{ID: fakeID("short"), Names: []string{"/2"}, State: "running"}
	ctx := context.Background()
	tests := []struct {
		name    string
		cs      []container.Summary
		spec    Spec
		want    []string
		refused string
	}{
		{"short id prefix", []container.Summary{a, b}, Spec{Container: "2"}, nil,
			`target container "2" names no container, and as an ID prefix it is too short (1 of at least 12 characters; 2 container IDs start with it) (valid: a container's exact name, or at least 12 characters of its ID`},
		{"11-character prefix", []container.Summary{a, b}, Spec{Container: a.ID[:11]}, nil, "too short (11 of at least 12 characters"},
		{"12-character prefix", []container.Summary{a, b}, Spec{Container: a.ID[:12]}, []string{"a"}, ""},
		{"full id", []container.Summary{a, b}, Spec{Container: b.ID}, []string{"b"}, ""},
		{"a short name is a name", []container.Summary{a, b, short}, Spec{Container: "2"}, []string{"2"}, ""},
		{"labels matching two", []container.Summary{a, b}, Spec{Labels: map[string]string{"role": "model"}}, nil,
			"target labels role=model matches 2 containers (a (" + a.ID[:12] + "), b (" + b.ID[:12] + ")) and chaos does not guess (valid: pick: all"},
		{"labels matching two, pick all", []container.Summary{a, b}, Spec{Labels: map[string]string{"role": "model"}, Pick: "all"}, []string{"a", "b"}, ""},
		{"labels matching two, pick one", []container.Summary{a, b}, Spec{Labels: map[string]string{"role": "model"}, Pick: "one"}, []string{"a", "b"}, ""},
		{"labels matching one", []container.Summary{a, short}, Spec{Labels: map[string]string{"role": "model"}}, []string{"a"}, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := &Docker{API: &fakeLister{cs: tc.cs}}
			ts, ok := resolveCase(t, d, tc.spec, tc.refused, true)
			if !ok {
				return
			}
			var names []string
			for _, x := range ts {
				names = append(names, x.Name)
			}
			assert.Equal(t, tc.want, names)
		})
	}
	all, err := (&Docker{API: &fakeLister{cs: []container.Summary{a, b}}}).ResolveAll(ctx, Spec{Labels: map[string]string{"role": "model"}})
	require.NoError(t, err, "a check judges every match: no pick needed")
	assert.Len(t, all, 2)
}
