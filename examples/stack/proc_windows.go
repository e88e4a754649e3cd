package stack

import (
	"os"
	"syscall"
)

// procAttr starts a stack process in a process group of its own.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{CreationFlags: syscall.CREATE_NEW_PROCESS_GROUP}
}

// terminate kills p: Windows has no TERM to send a console-less child.
func terminate(p *os.Process) { _ = p.Kill() }

// killGroup kills p (its children are its own business on Windows).
func killGroup(p *os.Process) { _ = p.Kill() }
