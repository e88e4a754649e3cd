package netns

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestConnLimitBadInput(t *testing.T) {
	for _, tc := range []struct {
		f    *ConnLimit
		want string
	}{
		{&ConnLimit{Max: 0}, "max: 0 is too few (valid: 1 or more)"},
		{&ConnLimit{Max: 5, Port: 70000}, "port: 70000 is not a port (valid: 1 to 65535)"},
		{&ConnLimit{Max: 5, Peers: []string{" "}}, "peers[0]: empty peer"},
	} {
		var got []string
		for _, p := range tc.f.Validate() {
			got = append(got, p.Field+": "+p.Msg)
		}
		assert.Contains(t, strings.Join(got, "\n"), tc.want)
	}
	assert.Empty(t, (&ConnLimit{Max: 2, Port: 8000}).Validate())
}
