package report

import (
	"bytes"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func snap(exp string, el time.Duration, phase string) Snapshot {
	return Snapshot{Experiment: exp, Phase: phase, Elapsed: el, Faults: []string{"slow-primary"}, Rate: 30, P99: 2010 * time.Millisecond,
		ErrorRate: 0.004, DegradedShare: 0.64, Checks: []CheckState{{"breaker opens", CheckWatching}, {"recovers", CheckWaiting}}}
}

// TestPlainLive prints a line per experiment every few seconds and at each
// phase change, never after Close; progress writes pass through.
func TestPlainLive(t *testing.T) {
	var b bytes.Buffer
	l := NewLive(&b, false, 5*time.Second)
	for s := 0; s <= 10; s++ {
		l.Update(snap("a", time.Duration(s)*time.Second, "baseline"))
		l.Update(snap("b", time.Duration(s)*time.Second, map[bool]string{true: "faults", false: "baseline"}[s >= 3]))
	}
	l.Write([]byte("chaos: progress\n"))
	l.Close()
	l.Update(snap("a", time.Minute, "recovery"))
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	assert.Equal(t, []string{
		"a 0:00", "b 0:00", "b 0:03", "a 0:05", "b 0:08", "a 0:10", "progress",
	}, keys(lines))
	assert.Equal(t, "chaos: a [0:00] baseline (slow-primary on) · 30 req/s · p99 2.01s · errors 0.4% · degraded 64.0% · checks breaker opens: watching, recovers: waiting", lines[0])
}

func keys(lines []string) []string {
	re := regexp.MustCompile(`^chaos: (\S+) \[(\S+)\]`)
	var out []string
	for _, l := range lines {
		if m := re.FindStringSubmatch(l); m != nil {
			out = append(out, m[1]+" "+m[2])
		} else {
			out = append(out, strings.TrimPrefix(l, "chaos: "))
		}
	}
	return out
}

// TestTTYLive redraws its block in place: each update moves the cursor up
// over the lines it drew, progress lines go above the block.
func TestTTYLive(t *testing.T) {
	var b bytes.Buffer
	l := NewLive(&b, true, time.Second)
	SetWidth(l, 60)
	l.Update(snap("a", time.Second, "faults"))
	l.Update(snap("b", time.Second, "faults"))
	assert.Contains(t, b.String(), "\x1b[2A\r\x1b[J", "the second update erases the first block (2 lines)")
	b.Reset()
	l.Write([]byte("chaos: partial"))
	assert.Empty(t, b.String(), "a partial line waits for its newline")
	l.Write([]byte(" line\n"))
	out := b.String()
	assert.True(t, strings.HasPrefix(out, "\x1b[4A\r\x1b[Jchaos: partial line\n"), "%q", out)
	assert.Equal(t, 4, strings.Count(out, "\n")-1, "then the 4-line block again")
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		visible := regexp.MustCompile("\x1b\\[[0-9;]*[A-Za-z]").ReplaceAllString(line, "")
		assert.LessOrEqual(t, len([]rune(visible)), 60, "%q is cut to the width", visible)
	}
	l.Close()
	b.Reset()
	l.Update(snap("a", 2*time.Second, "faults"))
	assert.Empty(t, b.String())
}
