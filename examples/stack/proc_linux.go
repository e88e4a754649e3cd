package stack

import "syscall"

// procAttr starts a stack process in a group of its own (stop and kill
// reach its children too), killed with this process should it die first.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL, Setpgid: true}
}
