package kube

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

func TestFreeRefusesAnotherRunsMarkOnly(t *testing.T) {
	live := newMark("run-a", "slow", "scale")
	stale := live
	stale.Renewed = time.Now().Add(-2 * StaleAfter)
	for name, tc := range map[string]struct {
		annotations map[string]string
		run, fault  string
		ours        bool
		want        string // "" for no error
		stale       bool
	}{
		"no marks":               {annotations: map[string]string{"other": "x"}, run: "run-b", fault: "f"},
		"another live run":       {annotations: map[string]string{"chaos.sre/scale": live.encode()}, run: "run-b", fault: "f", want: "is in use by run run-a"},
		"another dead run":       {annotations: map[string]string{"chaos.sre/cordon": stale.encode()}, run: "run-b", fault: "f", want: "run `chaos recover --kubernetes` first", stale: true},
		"this fault's own":       {annotations: map[string]string{"chaos.sre/scale": live.encode()}, run: "run-a", fault: "slow", ours: true},
		"another fault of this":  {annotations: map[string]string{"chaos.sre/scale": live.encode()}, run: "run-a", fault: "other", want: `already carries the scale of fault "slow"`},
		"preflight: every mark":  {annotations: map[string]string{"chaos.sre/scale": live.encode()}, want: "is in use by run run-a"},
		"a mark of another kind": {annotations: map[string]string{"chaos.sre/cordon": live.encode()}, run: "run-a", fault: "other"},
		"an unreadable mark":     {annotations: map[string]string{"chaos.sre/scale": "{oops"}, run: "run-a", want: "is not a chaos mark"},
		"a mark naming nobody":   {annotations: map[string]string{"chaos.sre/scale": "{}"}, run: "run-a", want: "is not a chaos mark"},
	} {
		t.Run(name, func(t *testing.T) {
			_, ours, err := free("deployment ns/web", tc.annotations, tc.run, tc.fault, "chaos.sre/scale")
			if tc.want == "" {
				require.NoError(t, err)
				assert.Equal(t, tc.ours, ours)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.Contains(t, err.Error(), "deployment ns/web")
			var inUse *InUseError
			if errors.As(err, &inUse) {
				assert.Equal(t, tc.stale, inUse.Stale)
				assert.Equal(t, "run-a", inUse.Mark.Run)
			} else {
				assert.NotContains(t, name, "run", "another run's mark is an InUseError")
			}
		})
	}
}

func TestPointerEscapesTheAnnotationKey(t *testing.T) {
	assert.Equal(t, "/metadata/annotations/chaos.sre~1node-drain", pointer("chaos.sre/node-drain"))
	assert.Equal(t, "/metadata/annotations/a~0b", pointer("a~b"))
}

func TestAPatchKeepsFalseAndZeroValues(t *testing.T) {
	got := string(encodePatch(testOp("/spec/replicas", jsonOf(0)), op{Op: "replace", Path: "/spec/unschedulable", Value: jsonOf(false)}, op{Op: "remove", Path: "/x"}))
	assert.JSONEq(t, `[{"op":"test","path":"/spec/replicas","value":0},{"op":"replace","path":"/spec/unschedulable","value":false},{"op":"remove","path":"/x"}]`, got)
}

func TestRefNamesItsObject(t *testing.T) {
	r := Ref{Server: "https://k:6443", Resource: deployments, Namespace: "shop", Name: "web"}
	assert.Equal(t, "deployment shop/web", r.String())
	assert.Equal(t, "kube:https://k:6443/namespaces/shop/deployments/web", r.LeaseKey())
	n := Ref{Server: "https://k:6443", Resource: nodes, Name: "n1"}
	assert.Equal(t, "node n1", n.String())
	assert.Equal(t, "kube:https://k:6443/nodes/n1", n.LeaseKey())
}

// TestAFailedPatchTestIsRetried: the API server's answer to a JSON patch
// whose test failed (422, no details) is a race to read again; a
// validation error (422 with field causes) and a forbidden write are not.
func TestAFailedPatchTestIsRetried(t *testing.T) {
	testFail := apierrors.NewGenericServerResponse(http.StatusUnprocessableEntity, "", schema.GroupResource{}, "", "testing value /spec/replicas failed: test failed", 0, false)
	invalid := apierrors.NewInvalid(schema.GroupKind{Group: "apps", Kind: "Deployment"}, "web", field.ErrorList{field.Invalid(field.NewPath("spec", "replicas"), -1, "must be >= 0")})
	assert.True(t, retryable(testFail))
	assert.True(t, retryable(apierrors.NewConflict(schema.GroupResource{Resource: "deployments"}, "web", errors.New("the object has been modified"))))
	assert.False(t, retryable(invalid))
	assert.False(t, retryable(apierrors.NewForbidden(schema.GroupResource{Resource: "deployments"}, "web", errors.New("no"))))
	assert.False(t, retryable(errors.New("connection refused")))
}
