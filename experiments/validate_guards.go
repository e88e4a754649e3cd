package experiments

import "github.com/chaos-sre/chaos/faults/targets"

// validateGuards reports, before anything runs, the fault targets chaos
// refuses from the spec alone (pid 1, the host's init or container runtime
// by name). The rest of the guards need the running processes and
// containers, so the run checks them when it resolves targets.
func (d *decoder) validateGuards(fs []FaultSpec) {
	for i, f := range fs {
		p := join(index("faults", i), "target")
		if field, why := targets.StaticRefusal(f.Target); field != "" && d.present(join(p, field)) && !d.failed(join(p, field)) {
			d.at(join(p, field), "%s", why)
		}
	}
}
