package experiments

import (
	"fmt"
	"sort"
	"strings"
)

// Problem is one thing wrong with an experiment file, at a position. Line and
// Col are 1-based; Line is 0 for a problem with the whole file (it cannot be
// read, for instance).
type Problem struct {
	File      string
	Line, Col int
	// Path is the field, e.g. faults[1].params.delay; empty for the document.
	Path string
	Msg  string
}

// Error prints the problem as file:line:col: path: message.
func (p Problem) Error() string {
	var b strings.Builder
	b.WriteString(p.File)
	if p.Line > 0 {
		fmt.Fprintf(&b, ":%d:%d", p.Line, p.Col)
	}
	b.WriteString(": ")
	if p.Path != "" {
		b.WriteString(p.Path)
		b.WriteString(": ")
	}
	b.WriteString(p.Msg)
	return b.String()
}

// Problems is every problem found in one file, sorted by position. It is the
// error Parse returns for a bad experiment, so that a user fixes them all in
// one go instead of one per run.
type Problems []Problem

// Error prints one problem per line.
func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.Error()
	}
	return strings.Join(lines, "\n")
}

// sorted orders the problems by position (whole-file ones first), keeping
// the order they were found in for equal positions, and drops duplicates.
func (ps Problems) sorted() Problems {
	sort.SliceStable(ps, func(i, j int) bool {
		if ps[i].Line != ps[j].Line {
			return ps[i].Line < ps[j].Line
		}
		return ps[i].Col < ps[j].Col
	})
	out := ps[:0]
	seen := make(map[Problem]bool, len(ps))
	for _, p := range ps {
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out
}

// validList formats the "(valid: a, b, c)" hint, with a "did you mean" in
// front when got is close to one of the names.
func validList(got string, valid []string) string {
	hint := ""
	if s := suggest(got, valid); s != "" {
		hint = fmt.Sprintf(", did you mean %q?", s)
	}
	if len(valid) == 0 {
		return hint
	}
	return hint + " (valid: " + strings.Join(valid, ", ") + ")"
}

// suggest returns the valid name closest to got when it is within edit
// distance 2 (and closer than the name's own length), or "".
func suggest(got string, valid []string) string {
	best, bestD := "", 3
	for _, v := range valid {
		d := editDistance(strings.ToLower(got), strings.ToLower(v))
		if d < bestD && d < len(v) {
			best, bestD = v, d
		}
	}
	return best
}

// editDistance is the Levenshtein distance between a and b, with an
// adjacent swap counted as one edit ("delya" → "delay").
func editDistance(a, b string) int {
	ra, rb := []rune(a), []rune(b)
	if len(ra) > 64 || len(rb) > 64 {
		if a == b {
			return 0
		}
		return 1 << 10
	}
	prev2 := make([]int, len(rb)+1)
	prev := make([]int, len(rb)+1)
	cur := make([]int, len(rb)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(ra); i++ {
		cur[0] = i
		for j := 1; j <= len(rb); j++ {
			cost := 1
			if ra[i-1] == rb[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && ra[i-1] == rb[j-2] && ra[i-2] == rb[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(rb)]
}

// join appends a field name to a path.
func join(path, name string) string {
	if path == "" || name == "" {
		return path + name
	}
	if strings.HasPrefix(name, "[") {
		return path + name
	}
	return path + "." + name
}

// index appends a list index to a path.
func index(path string, i int) string { return fmt.Sprintf("%s[%d]", path, i) }

// parent strips the last field or index from a path.
func parent(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}
