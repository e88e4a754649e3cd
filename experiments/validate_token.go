package experiments

import "github.com/chaos-sre/chaos/faults/targets"

// validateTokens refuses a control API token written in the file: it must
// be ${NAME} of an environment variable, so neither the experiment file nor
// the journal and report made from it ever hold the token. A stack var is
// written in the file too, so it cannot stand for one.
func (d *decoder) validateTokens(e *Experiment) {
	for i, f := range e.Faults {
		p := join(join(index("faults", i), "target"), "token")
		if f.Target.Token == "" || !d.present(p) || d.failed(p) {
			continue
		}
		name, ok := targets.TokenRef(f.Target.Token)
		switch _, isVar := e.Stack.Vars[name]; {
		case !ok:
			d.at(p, "is written in the file: %s", targets.TokenHint)
		case isVar:
			d.at(p, "${%s} is a stack var, written in the file: remove it from stack.vars and export %s=…, so the token stays out of files and journals", name, name)
		}
	}
}
