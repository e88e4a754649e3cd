package verify

// Kinds is every check kind by name: the experiment decoder, the docs and the
// JSON Schema all read this one map.
var Kinds = map[string]Kind{}
