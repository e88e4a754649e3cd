package load

import "testing"

func TestJSONLookup(t *testing.T) {
	doc := []byte(` {"id":"x","skip":{"a":[1,{"b":"}"}],"s":"q\"uote"},"choices":[{"delta":{"content":"hi"}},{"delta":{"content":""}}],` +
		`"usage":{"completion_tokens":42},"n":1e6,"f":false,"z":null,"o":{"k":[1,2]},"esc\u0061pe":"yes"}`)
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
	}
	for _, tt := range tests {
		t.Run(tt.path+"="+tt.equals, func(t *testing.T) {
			raw, ok := splitPath(tt.path).lookup(doc)
			if ok != tt.found {
				t.Fatalf("found %v (%s), want %v", ok, raw, tt.found)
			}
			if ok && valueEquals(raw, tt.equals) != tt.match {
				t.Fatalf("value %s equals %q: %v, want %v", raw, tt.equals, !tt.match, tt.match)
			}
		})
	}
	if raw, _ := splitPath("usage.completion_tokens").lookup(doc); parseTokens(raw) != 42 {
		t.Errorf("parseTokens(%s) != 42", raw)
	}
}
