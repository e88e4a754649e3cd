package experiments

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTokenWrittenInTheFileIsRefused(t *testing.T) {
	for _, tc := range []struct {
		name, target, want string
	}{
		{"literal token", `{proxy: m, api: "http://127.0.0.1:8474", token: s3cret}`,
			`t.yaml:6:97: faults[0].target.token: is written in the file: write ${NAME} and export NAME=…, so the token stays out of files and journals`},
		{"token inside text", `{proxy: m, api: "http://127.0.0.1:8474", token: "Bearer ${T}"}`,
			`t.yaml:6:97: faults[0].target.token: is written in the file: write ${NAME}`},
		{"stack var", `{proxy: m, api: "http://127.0.0.1:8474", token: "${gateway}"}`,
			`t.yaml:6:97: faults[0].target.token: ${gateway} is a stack var, written in the file: remove it from stack.vars and export gateway=…`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := head + "faults:\n  - {name: f1, kind: latency, for: 10s, target: " + tc.target + "}\n"
			_, err := Parse("t.yaml", []byte(doc), fakeRegistry())
			var probs Problems
			require.True(t, errors.As(err, &probs), "%v", err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "s3cret", "the refusal does not repeat the token")
		})
	}
	doc := head + "faults:\n  - {name: f1, kind: latency, for: 10s, target: {proxy: m, api: \"http://127.0.0.1:8474\", token: \"${CHAOS_PROXY_TOKEN}\"}}\n"
	_, err := Parse("t.yaml", []byte(doc), fakeRegistry())
	assert.NoError(t, err, "${NAME} of an environment variable is how a token is given")
}
