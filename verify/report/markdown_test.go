package report

import (
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestMarkdownEscapesNames: a name from a result.json cannot break a table,
// add emphasis or code, make a link or inject HTML into a CI step summary.
func TestMarkdownEscapesNames(t *testing.T) {
	tests := []struct{ name, text, want string }{
		{"pipe", "a|b", `a\|b`},
		{"emphasis", "*bold* _it_ ~~gone~~", `\*bold\* \_it\_ \~\~gone\~\~`},
		{"code", "`rm -rf`", "\\`rm -rf\\`"},
		{"html", "<img src=x onerror=alert(1)>", "&lt;img src=x onerror=alert(1)&gt;"},
		{"link", "[click](https://evil.example)", `\[click\](https://evil.example)`},
		{"image", "![x](https://evil.example/x.png)", `!\[x\](https://evil.example/x.png)`},
		{"newline", "one\ntwo\r\nthree", "one two three"},
		{"new row", "x |\n| injected | row |", `x \| \| injected \| row \|`},
		{"entity", "&lt;b&gt;", "&amp;lt;b&amp;gt;"},
		{"backslash", `a\|b`, `a\\\|b`},
		{"plain", "slow-primary #2 (ok)", "slow-primary #2 (ok)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &Report{Schema: Schema, Experiment: tt.text, Verdict: "failed", ExitCode: 1,
				Checks: []CheckReport{{Name: tt.text, Kind: tt.text}},
				Faults: []FaultReport{{Name: tt.text, Kind: tt.text, Targets: []string{tt.text}, Mechanism: tt.text}}}
			r.Checks[0].Reason = tt.text
			r.Checks[0].Measured = tt.text
			var b strings.Builder
			require.NoError(t, WriteMarkdown(&b, r, r))
			out := b.String()
			assert.Contains(t, out, tt.want)
			for _, l := range strings.Split(out, "\n") {
				if strings.HasPrefix(l, "|") {
					cells := len(regexp.MustCompile(`(^|[^\\])(\\\\)*\|`).FindAllString(l, -1))
					assert.Contains(t, []int{6, 7}, cells, "a row keeps its cells: %s", l)
				}
				assert.NotRegexp(t, `<[a-z]`, strings.ReplaceAll(strings.ReplaceAll(l, "<br>", ""), "<details><summary>", ""), "no HTML from the report: %s", l)
				assert.NotRegexp(t, `(^|[^\\])\[`, l, "no link: %s", l)
			}
		})
	}
}
