package targets

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestResolveProxyTokenComesFromTheEnvironmentOnly(t *testing.T) {
	const secret = "s3cret-from-env"
	t.Setenv("CHAOS_TEST_TOKEN", secret)
	expand := func(s string) string {
		if s == "${api}" {
			return "http://127.0.0.1:8474"
		}
		return "expanded-" + s // a stack var must never stand for the token
	}
	ts, err := ResolveProxy(Spec{Proxy: "m", API: "${api}", Token: "${CHAOS_TEST_TOKEN}"}, expand)
	require.NoError(t, err)
	require.Len(t, ts, 1)
	p, ok := ts[0].Proxy.(*APIProxy)
	require.True(t, ok, "%T", ts[0].Proxy)
	assert.Equal(t, secret, p.Token, "the client sends the environment's token")
	assert.Equal(t, "http://127.0.0.1:8474", p.API)

	d := p.Journal("chaos-f-1")
	assert.Equal(t, map[string]string{"api": "http://127.0.0.1:8474", "route": "m", "id": "chaos-f-1", "token_env": "CHAOS_TEST_TOKEN"}, d)
	b, err := json.Marshal(d)
	require.NoError(t, err)
	assert.NotContains(t, string(b), secret, "the journal keeps the variable's name, not the token")

	for _, tc := range []struct {
		name, token, want string
		refused           bool
	}{
		{"literal token", "s3cret", "token is written in the file", true},
		{"token inside a longer string", "Bearer ${CHAOS_TEST_TOKEN}", "token is written in the file", true},
		{"unset variable", "${CHAOS_TEST_NO_SUCH_VAR}", "no such environment variable", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ResolveProxy(Spec{Proxy: "m", API: "http://127.0.0.1:8474", Token: tc.token}, expand)
			require.ErrorContains(t, err, tc.want)
			assert.Equal(t, tc.refused, errors.Is(err, ErrRefused), "%v", err)
			if tc.refused {
				assert.NotContains(t, err.Error(), tc.token, "the refusal does not echo the token")
				assert.Contains(t, err.Error(), "export NAME=")
			}
		})
	}

	ts, err = ResolveProxy(Spec{Proxy: "m", API: "http://127.0.0.1:8474"}, nil)
	require.NoError(t, err)
	assert.NotContains(t, ts[0].Proxy.(*APIProxy).Journal("x"), "token_env", "no token, no token_env")
}

func TestTokenRef(t *testing.T) {
	for in, want := range map[string]string{"${T}": "T", "${CHAOS_PROXY_TOKEN}": "CHAOS_PROXY_TOKEN", "${_x1}": "_x1",
		"T": "", "$T": "", "${1T}": "", "${T}x": "", "${A}${B}": "", "": ""} {
		got, ok := TokenRef(in)
		assert.Equal(t, want, got, in)
		assert.Equal(t, want != "", ok, in)
	}
}
