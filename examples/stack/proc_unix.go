//go:build unix

package stack

import (
	"os"
	"syscall"
)

// terminate sends TERM to p's process group, and CONT: a stopped process
// must run to die of TERM.
func terminate(p *os.Process) {
	_ = syscall.Kill(-p.Pid, syscall.SIGTERM)
	_ = syscall.Kill(-p.Pid, syscall.SIGCONT)
}

// killGroup sends KILL to p's process group.
func killGroup(p *os.Process) { _ = syscall.Kill(-p.Pid, syscall.SIGKILL) }
