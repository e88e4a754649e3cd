package load

import "testing"

func TestJSONLookup(t *testing.T) {
	doc := []byte(` {"id":"x","skip":{"a":[1,{"b":"}"}],"s":"q\"uote"},"choices":[{"delta":{"content":"hi"}},{"delta":{"content":""}}],` +
		`"usage":{"completion_tokens":42},"n":1e6,"f":false,"z":null,"o":{"k":[1,2]},"esc\u0061pe":"yes",` +
		`"m":{"0":"k","a":[{"0":"z"}]},"":{"e":1}}`)
	tests := []struct {
		path, equals string
		found, match bool
	}{
		{"id", "x", true, true},
		{"choices.0.delta.content", "hi", true, true},
		{"choices.1.delta.content", "", true, true},
		{"choices.2.delta.content", "", false, false},
		{"usage.completion_tokens", "42", true, true},
		{"n", "1e+06", true, true},
		{"n", "1e6", true, true},
		{"f", "false", true, true},
		{"z", "<nil>", true, true},
		{"o", "map[k:[1 2]]", true, true},
		{"skip.s", `q"uote`, true, true},
		{"escape", "yes", true, true},
		{"missing", "", false, false},
		{"id.deeper", "", false, false},
		{"m.0", "k", true, true},     // a numeric segment names an object key
		{"m.a.0.0", "z", true, true}, // … and indexes an array
		{"m.a.1", "", false, false},
		{"o.k.-1", "", false, false},
		{".e", "1", true, true}, // an empty segment is the key ""
		{"o.k", "[1 2]", true, true},
	}
	for _, tt := range tests {
		t.Run(tt.path+"="+tt.equals, func(t *testing.T) {
			val, typ, ok := splitPath(tt.path).lookup(doc)
			if ok != tt.found {
				t.Fatalf("found %v (%s), want %v", ok, val, tt.found)
			}
			if ok && valueEquals(val, typ, tt.equals) != tt.match {
				t.Fatalf("value %s (%s) equals %q: %v, want %v", val, typ, tt.equals, !tt.match, tt.match)
			}
		})
	}
	if raw, _, _ := splitPath("usage.completion_tokens").lookup(doc); parseTokens(raw) != 42 {
		t.Errorf("parseTokens(%s) != 42", raw)
	}
}

// BenchmarkJSONLookup is the per-answer work of the load generator: the
// content of every SSE chunk, the token count of every plain answer, and a
// degraded marker on both.
func BenchmarkJSONLookup(b *testing.B) {
	chunk := []byte(`{"id":"chatcmpl-1","object":"chat.completion.chunk","created":1764590000,"model":"primary",` +
		`"choices":[{"index":0,"delta":{"content":"tok"},"finish_reason":null}]}`)
	full := []byte(`{"id":"chatcmpl-1","object":"chat.completion","created":1764590000,"model":"fallback","degraded":true,` +
		`"choices":[{"index":0,"message":{"role":"assistant","content":"tok tok tok tok tok tok tok tok"},"finish_reason":"stop"}],` +
		`"usage":{"prompt_tokens":3,"completion_tokens":32,"total_tokens":35}}`)
	for _, c := range []struct {
		name, path, want string
		doc              []byte
	}{
		{"chunk-content", "choices.0.delta.content", "", chunk},
		{"chunk-marker", "model", "primary", chunk},
		{"full-tokens", "usage.completion_tokens", "32", full},
		{"full-marker", "degraded", "true", full},
	} {
		b.Run(c.name, func(b *testing.B) {
			p := splitPath(c.path)
			for b.Loop() {
				val, typ, ok := p.lookup(c.doc)
				if !ok || (c.want != "" && !valueEquals(val, typ, c.want)) {
					b.Fatalf("%s: %s is not %q", c.name, c.path, c.want)
				}
			}
		})
	}
}
