package report

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode/utf8"
)

// ttyLive keeps a block of two lines per experiment at the bottom of the
// terminal and redraws it in place; progress lines are printed above it.
type ttyLive struct {
	mu     sync.Mutex
	w      io.Writer
	width  int
	order  []string
	last   map[string]Snapshot
	drawn  int // lines of the block on screen
	buf    []byte
	closed bool
}

// ANSI sequences.
const (
	ansiUp    = "\x1b[%dA"
	ansiClear = "\r\x1b[J"
	ansiDim   = "\x1b[2m"
	ansiBold  = "\x1b[1m"
	ansiRed   = "\x1b[31m"
	ansiGreen = "\x1b[32m"
	ansiAmber = "\x1b[33m"
	ansiReset = "\x1b[0m"
)

// SetWidth sets the terminal width lines are cut to (default 120).
func SetWidth(l Live, cols int) {
	if t, ok := l.(*ttyLive); ok && cols > 20 {
		t.mu.Lock()
		t.width = cols
		t.mu.Unlock()
	}
}

func (t *ttyLive) Write(b []byte) (int, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return t.w.Write(b)
	}
	t.buf = append(t.buf, b...)
	i := bytes.LastIndexByte(t.buf, '\n')
	if i < 0 {
		return len(b), nil
	}
	lines := t.buf[:i+1]
	t.erase()
	if _, err := t.w.Write(lines); err != nil {
		return 0, err
	}
	t.buf = append(t.buf[:0], t.buf[i+1:]...)
	t.draw()
	return len(b), nil
}

func (t *ttyLive) Update(s Snapshot) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed {
		return
	}
	if _, ok := t.last[s.Experiment]; !ok {
		t.order = append(t.order, s.Experiment)
	}
	t.last[s.Experiment] = s
	t.erase()
	t.draw()
}

// Close leaves the last block on screen and stops redrawing.
func (t *ttyLive) Close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.buf) > 0 {
		t.erase()
		fmt.Fprintf(t.w, "%s\n", t.buf)
		t.buf = nil
		t.draw()
	}
	t.closed = true
}

func (t *ttyLive) erase() {
	if t.drawn > 0 {
		fmt.Fprintf(t.w, ansiUp+ansiClear, t.drawn)
		t.drawn = 0
	}
}

func (t *ttyLive) draw() {
	var b strings.Builder
	for _, name := range t.order {
		for _, l := range TTYLines(t.last[name], t.width) {
			b.WriteString(l + "\n")
			t.drawn++
		}
	}
	io.WriteString(t.w, b.String())
}

// TTYLines renders a snapshot as two terminal lines cut to width: the
// experiment, its phase and load; then each check's state.
func TTYLines(s Snapshot, width int) []string {
	color := map[string]string{"baseline": ansiGreen, "faults": ansiRed, "recovery": ansiAmber}[s.Phase]
	faults := ansiDim + "no fault on" + ansiReset
	if len(s.Faults) > 0 {
		faults = ansiRed + "⚡ " + strings.Join(s.Faults, ", ") + ansiReset
	}
	head := fmt.Sprintf("%s%s%s %s%-8s%s %s  %s  %5.0f req/s  p99 %-7s errors %-6s degraded %-6s",
		ansiBold, s.Experiment, ansiReset, color, s.Phase, ansiReset, clock(s.Elapsed), faults,
		s.Rate, FormatDuration(s.P99), Percent(s.ErrorRate), Percent(s.DegradedShare))
	var checks strings.Builder
	checks.WriteString("   ")
	for _, c := range s.Checks {
		mark := map[string]string{CheckWaiting: ansiDim + "○", CheckWatching: ansiAmber + "◉", CheckEnded: ansiGreen + "●"}[c.State]
		fmt.Fprintf(&checks, " %s %s%s", mark, c.Name, ansiReset)
	}
	return []string{cut(head, width), cut(checks.String(), width)}
}

// cut shortens s to width visible runes, skipping ANSI sequences, and
// resets attributes when it cuts.
func cut(s string, width int) string {
	n, state := 0, 0 // 0 text, 1 after ESC, 2 inside a CSI sequence
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '\x1b':
			state = 1
		case state == 1 && r == '[':
			state = 2
		case state == 2:
			if r >= '@' && r <= '~' {
				state = 0
			}
		default:
			state = 0
			n++
			if n > width-1 {
				return s[:i] + "…" + ansiReset
			}
		}
		i += size
	}
	return s
}
