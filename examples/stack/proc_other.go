//go:build unix && !linux

package stack

import "syscall"

// procAttr starts a stack process in a group of its own (stop and kill
// reach its children too). There is no parent-death signal off Linux: a
// stack process outlives a chaos that is killed.
func procAttr() *syscall.SysProcAttr { return &syscall.SysProcAttr{Setpgid: true} }
