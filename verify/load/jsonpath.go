package load

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/buger/jsonparser"
)

// jsonPath is a dotted path into a JSON document ("usage.completion_tokens",
// "choices.0.delta.content"), split once. A numeric segment indexes an array,
// or names a key where the value there is an object.
type jsonPath struct {
	// keys is the path in jsonparser's form, numeric segments as "[n]", so
	// that one pass over the document finds the value; nil when a segment is
	// empty (jsonparser reads the first byte of each key).
	keys []string
	segs []pathSeg
	// numeric: a segment is numeric, so a miss of keys may still be an
	// object key such as "0", found by walking segs.
	numeric bool
}

type pathSeg struct {
	key   string
	index string // "[n]" when key is a decimal index, else ""
}

func splitPath(p string) jsonPath {
	var jp jsonPath
	for key := range strings.SplitSeq(p, ".") {
		seg := pathSeg{key: key}
		if n, err := strconv.Atoi(key); err == nil && n >= 0 {
			seg.index = "[" + strconv.Itoa(n) + "]"
			jp.numeric = true
		}
		jp.segs = append(jp.segs, seg)
		jp.keys = append(jp.keys, cmp.Or(seg.index, seg.key))
	}
	if slices.Contains(jp.keys, "") {
		jp.keys = nil
	}
	return jp
}

// lookup returns the value at path p in doc and its type, without decoding
// the document; a string comes without its quotes, still escaped. ok is false
// when the value is absent or doc is not well-formed along the way.
func (p jsonPath) lookup(doc []byte) (val []byte, typ jsonparser.ValueType, ok bool) {
	if p.keys != nil {
		val, typ, _, err := jsonparser.Get(doc, p.keys...)
		if err == nil || !p.numeric {
			return val, typ, err == nil
		}
	}
	val = doc
	for _, seg := range p.segs {
		val = bytes.TrimLeft(val, " \t\r\n")
		key := seg.key
		switch {
		case len(val) > 0 && val[0] == '{':
		case len(val) > 0 && val[0] == '[' && seg.index != "":
			key = seg.index
		default:
			return nil, jsonparser.NotExist, false
		}
		var err error
		if val, typ, _, err = jsonparser.Get(val, key); err != nil {
			return nil, jsonparser.NotExist, false
		}
	}
	return val, typ, true
}

// valueEquals reports whether the value found by lookup, decoded the way
// encoding/json decodes into any and printed with %v, equals want.
func valueEquals(val []byte, typ jsonparser.ValueType, want string) bool {
	switch typ {
	case jsonparser.String:
		if bytes.IndexByte(val, '\\') < 0 {
			return string(val) == want
		}
		s, err := jsonparser.ParseString(val)
		return err == nil && s == want
	case jsonparser.Boolean:
		return string(val) == want
	case jsonparser.Null:
		return want == "<nil>"
	case jsonparser.Number:
		if string(val) == want { // also accept the number as written: 1000000, not only 1e+06
			return true
		}
		f, err := strconv.ParseFloat(string(val), 64)
		return err == nil && strconv.FormatFloat(f, 'g', -1, 64) == want
	case jsonparser.Object, jsonparser.Array:
		var v any
		return json.Unmarshal(val, &v) == nil && fmt.Sprint(v) == want
	}
	return false
}

// contentNonEmpty reports whether a value found by lookup is a string other than "".
func contentNonEmpty(val []byte, typ jsonparser.ValueType) bool {
	return typ == jsonparser.String && len(val) > 0
}

// parseTokens reads a decimal integer such as usage.completion_tokens or a
// Content-Length, up to the first non-digit.
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
