package load

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// jsonPath is a dotted path into a JSON document, split once. Numeric
// segments also index arrays.
type jsonPath []string

func splitPath(p string) jsonPath { return strings.Split(p, ".") }

// lookup returns the raw JSON value at path p in doc, without decoding the
// document: it skips over everything else. ok is false when it is absent or
// doc is not well-formed along the way.
func (p jsonPath) lookup(doc []byte) (raw []byte, ok bool) {
	i := skipWS(doc, 0)
	for _, seg := range p {
		if i >= len(doc) {
			return nil, false
		}
		switch doc[i] {
		case '{':
			i, ok = findKey(doc, i, seg)
		case '[':
			i, ok = findIndex(doc, i, seg)
		default:
			return nil, false
		}
		if !ok {
			return nil, false
		}
	}
	end := skipValue(doc, i)
	if end < 0 {
		return nil, false
	}
	return doc[i:end], true
}

// findKey returns the start of the value of key in the object at doc[i].
func findKey(doc []byte, i int, key string) (int, bool) {
	i = skipWS(doc, i+1)
	for i < len(doc) && doc[i] == '"' {
		kend := skipString(doc, i)
		if kend < 0 {
			return 0, false
		}
		k := doc[i+1 : kend-1]
		match := string(k) == key // no allocation: compiler-optimised comparison
		if !match && bytes.IndexByte(k, '\\') >= 0 {
			var s string
			match = json.Unmarshal(doc[i:kend], &s) == nil && s == key
		}
		i = skipWS(doc, kend)
		if i >= len(doc) || doc[i] != ':' {
			return 0, false
		}
		i = skipWS(doc, i+1)
		if match {
			return i, true
		}
		if i = skipValue(doc, i); i < 0 {
			return 0, false
		}
		i = skipWS(doc, i)
		if i < len(doc) && doc[i] == ',' {
			i = skipWS(doc, i+1)
		}
	}
	return 0, false
}

// findIndex returns the start of element seg (a decimal index) of the array at doc[i].
func findIndex(doc []byte, i int, seg string) (int, bool) {
	n, err := strconv.Atoi(seg)
	if err != nil || n < 0 {
		return 0, false
	}
	i = skipWS(doc, i+1)
	for k := 0; i < len(doc) && doc[i] != ']'; k++ {
		if k == n {
			return i, true
		}
		if i = skipValue(doc, i); i < 0 {
			return 0, false
		}
		i = skipWS(doc, i)
		if i < len(doc) && doc[i] == ',' {
			i = skipWS(doc, i+1)
		}
	}
	return 0, false
}

func skipWS(doc []byte, i int) int {
	for i < len(doc) && (doc[i] == ' ' || doc[i] == '\n' || doc[i] == '\r' || doc[i] == '\t') {
		i++
	}
	return i
}

// skipString returns the index just past the string starting at doc[i], or -1.
func skipString(doc []byte, i int) int {
	for j := i + 1; j < len(doc); j++ {
		switch doc[j] {
		case '\\':
			j++
		case '"':
			return j + 1
		}
	}
	return -1
}

// skipValue returns the index just past the value starting at doc[i], or -1.
func skipValue(doc []byte, i int) int {
	if i >= len(doc) {
		return -1
	}
	switch doc[i] {
	case '"':
		return skipString(doc, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(doc); j++ {
			switch doc[j] {
			case '"':
				if j = skipString(doc, j); j < 0 {
					return -1
				}
				j--
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return j + 1
				}
			}
		}
		return -1
	default: // number, true, false, null
		j := i
		for j < len(doc) && !strings.ContainsRune(",}] \n\r\t", rune(doc[j])) {
			j++
		}
		if j == i {
			return -1
		}
		return j
	}
}

// valueEquals reports whether the raw JSON value, decoded the way
// encoding/json decodes into any and printed with %v, equals want.
func valueEquals(raw []byte, want string) bool {
	switch {
	case len(raw) == 0:
		return false
	case raw[0] == '"':
		if bytes.IndexByte(raw, '\\') < 0 {
			return string(raw[1:len(raw)-1]) == want
		}
	case raw[0] == 't' || raw[0] == 'f':
		return string(raw) == want
	case raw[0] == 'n':
		return want == "<nil>"
	case raw[0] == '-' || (raw[0] >= '0' && raw[0] <= '9'):
		if string(raw) == want { // also accept the number as written: 1000000, not only 1e+06
			return true
		}
		f, err := strconv.ParseFloat(string(raw), 64)
		return err == nil && strconv.FormatFloat(f, 'g', -1, 64) == want
	}
	var v any
	if json.Unmarshal(raw, &v) != nil {
		return false
	}
	return fmt.Sprint(v) == want
}

// contentNonEmpty reports whether raw is a JSON string other than "".
func contentNonEmpty(raw []byte) bool { return len(raw) > 2 && raw[0] == '"' }

// parseTokens reads a JSON integer such as usage.completion_tokens.
func parseTokens(raw []byte) int64 {
	var n int64
	for _, c := range raw {
		if c < '0' || c > '9' {
			return n
		}
		n = n*10 + int64(c-'0')
	}
	return n
}
