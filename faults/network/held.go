//go:build linux

package network

// held is a packet the shaper holds until due (nanoseconds since the
// queue's base).
type held struct {
	due     int64
	id      uint32
	drop    bool   // verdict drop
	payload []byte // modified bytes to send back, nil: unchanged
	dup     []byte // a copy to send after the verdict, nil: none
}

// holdMode is where a shape's packets wait.
type holdMode uint8

const (
	modeNone holdMode = iota // nothing waits: the reader gives every verdict
	modeLine                 // one delay for all: they leave in the order they came
	modeHeap                 // jitter reorders them: a heap by due time
)

func modeOf(s Shape) holdMode {
	switch {
	case !s.holds():
		return modeNone
	case s.Jitter > 0:
		return modeHeap
	default:
		return modeLine
	}
}

// heldLine is a FIFO of held packets in the order the kernel queued them.
type heldLine struct {
	items []held
	head  int
}

func (l *heldLine) len() int { return len(l.items) - l.head }

func (l *heldLine) push(h held) {
	if l.head > 1024 && l.head > len(l.items)/2 {
		n := copy(l.items, l.items[l.head:])
		clear(l.items[n:])
		l.items, l.head = l.items[:n], 0
	}
	l.items = append(l.items, h)
}

// popDue moves the packets at the front that are due by limit (all of
// them with every) to out; next is the due time of the new front, -1 when
// the line is empty.
func (l *heldLine) popDue(out []held, limit int64, every bool) ([]held, int64) {
	for l.head < len(l.items) && (every || l.items[l.head].due <= limit) {
		out = append(out, l.items[l.head])
		l.items[l.head] = held{}
		l.head++
	}
	if l.head == len(l.items) {
		l.items, l.head = l.items[:0], 0
		return out, -1
	}
	return out, l.items[l.head].due
}

// heldHeap is a min-heap of held packets by due time.
type heldHeap []held

// push adds h and says whether it is now the first due.
func (hp *heldHeap) push(h held) bool {
	*hp = append(*hp, h)
	s := *hp
	i := len(s) - 1
	for i > 0 {
		p := (i - 1) / 2
		if s[p].due <= s[i].due {
			break
		}
		s[p], s[i] = s[i], s[p]
		i = p
	}
	return i == 0
}

func (hp *heldHeap) pop() held {
	s := *hp
	top := s[0]
	n := len(s) - 1
	s[0] = s[n]
	s[n] = held{}
	s = s[:n]
	for i := 0; ; {
		c := 2*i + 1
		if c >= n {
			break
		}
		if c+1 < n && s[c+1].due < s[c].due {
			c++
		}
		if s[i].due <= s[c].due {
			break
		}
		s[i], s[c] = s[c], s[i]
		i = c
	}
	*hp = s
	return top
}

// popDue is heldLine.popDue for the heap.
func (hp *heldHeap) popDue(out []held, limit int64, every bool) ([]held, int64) {
	for len(*hp) > 0 && (every || (*hp)[0].due <= limit) {
		out = append(out, hp.pop())
	}
	if len(*hp) == 0 {
		return out, -1
	}
	return out, (*hp)[0].due
}
