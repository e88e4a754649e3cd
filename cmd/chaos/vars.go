package main

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/spf13/cobra"
)

// varFlag is --var name=value, repeatable: variables over every
// experiment's stack.vars.
type varFlag struct{ list []string }

var varNameRE = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

func (v *varFlag) add(c *cobra.Command) {
	c.Flags().StringArrayVar(&v.list, "var", nil, "set a variable for ${name} in the experiments, over their stack.vars (name=value; repeatable)")
}

// vars parses the flags; a malformed one is a command-line error (exit 2).
func (v *varFlag) vars() (map[string]string, error) {
	if len(v.list) == 0 {
		return nil, nil
	}
	out := map[string]string{}
	for _, kv := range v.list {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || !varNameRE.MatchString(name) {
			return nil, fmt.Errorf("--var %q is not valid (valid: name=value, name of letters, digits, '_', '.' and '-', e.g. --var gateway=http://127.0.0.1:8080)", kv)
		}
		if name == "window" || strings.HasPrefix(name, "env") && strings.Contains(name, ":") {
			return nil, fmt.Errorf("--var %q: %s is reserved", kv, name)
		}
		out[name] = value
	}
	return out, nil
}
