package faults

// Kinds is every fault kind by name: the experiment decoder, `chaos faults`
// and the JSON Schema all read this one map.
var Kinds = map[string]Kind{}
