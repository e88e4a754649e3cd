//go:build linux

package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"reflect"
	"strconv"
	"strings"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/chaos-sre/chaos/faults/network"
)

// The shaper runs in a child process of its own, as it runs inside chaos
// while the target's traffic comes from elsewhere: its CPU time is then its
// own (getrusage of the child alone), and the bench's sender and sink do
// not share its Go scheduler. The child is this binary, or with -before an
// older build of it (see the package comment), which is how one run
// compares two shapers side by side.

// shaperStats is what a child reports when it stops.
type shaperStats struct {
	cpu     time.Duration // user + system CPU while the traffic ran
	seen    uint64
	stamped uint64
	readLag time.Duration // subtracted from read times, summed
	demoted uint64        // times the shaper's thread gave up real-time priority
}

// childMain is `netbench -child NSPATH DELAY PPS`: open a queue in the
// namespace, print its number, and on "start" and "stop" lines from the
// parent take its CPU time; on "stop" report and close.
func childMain(args []string) error {
	if len(args) != 3 {
		return fmt.Errorf("-child NSPATH DELAY PPS")
	}
	delay, err := time.ParseDuration(args[1])
	if err != nil {
		return err
	}
	pps, _ := strconv.Atoi(args[2])
	ns, err := network.Open(args[0])
	if err != nil {
		return err
	}
	defer ns.Close()
	s := network.Shape{Delay: delay}
	q, err := network.OpenQueue(ns, s, s.QueueLen(pps))
	if err != nil {
		return err
	}
	fmt.Printf("queue %d\n", q.Num)
	in := bufio.NewScanner(os.Stdin)
	var start time.Duration
	for in.Scan() {
		switch in.Text() {
		case "start":
			start = cpuTime()
		case "stop":
			cpu := cpuTime() - start
			fmt.Printf("stats %d %d %d %d %d\n", cpu, q.Stats.Seen.Load(), stat(&q.Stats, "Stamped"),
				stat(&q.Stats, "ReadLag"), stat(&q.Stats, "Demoted"))
			return q.Close()
		}
	}
	return q.Close()
}

// stat reads a counter by name, 0 when this build's QueueStats lacks it
// (an older shaper under -before).
func stat(s *network.QueueStats, name string) uint64 {
	f := reflect.ValueOf(s).Elem().FieldByName(name)
	if !f.IsValid() || !f.CanAddr() {
		return 0
	}
	switch c := f.Addr().Interface().(type) {
	case interface{ Load() uint64 }:
		return c.Load()
	case interface{ Load() bool }:
		if c.Load() {
			return 1
		}
	}
	return 0
}

func cpuTime() time.Duration {
	var ru unix.Rusage
	_ = unix.Getrusage(unix.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// child is a running shaper process.
type child struct {
	cmd *exec.Cmd
	in  io.WriteCloser
	out *bufio.Scanner
	Num uint16
}

func startChild(ctx context.Context, exe, nsPath string, delay time.Duration, pps int) (*child, error) {
	cmd := exec.CommandContext(ctx, exe, "-child", nsPath, delay.String(), strconv.Itoa(pps))
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start shaper %s: %w", exe, err)
	}
	c := &child{cmd: cmd, in: in, out: bufio.NewScanner(out)}
	line, err := c.line("queue")
	if err != nil {
		c.kill()
		return nil, err
	}
	n, _ := strconv.Atoi(line[0])
	c.Num = uint16(n)
	return c, nil
}

func (c *child) line(tag string) ([]string, error) {
	if !c.out.Scan() {
		return nil, fmt.Errorf("shaper %s: no %q line", c.cmd.Path, tag)
	}
	f := strings.Fields(c.out.Text())
	if len(f) == 0 || f[0] != tag {
		return nil, fmt.Errorf("shaper %s: want %q, got %q", c.cmd.Path, tag, c.out.Text())
	}
	return f[1:], nil
}

func (c *child) start() { _, _ = io.WriteString(c.in, "start\n") }

// stop asks for the child's figures and waits for it to close its queue.
func (c *child) stop() (shaperStats, error) {
	_, _ = io.WriteString(c.in, "stop\n")
	f, err := c.line("stats")
	if err != nil || len(f) != 5 {
		c.kill()
		return shaperStats{}, fmt.Errorf("shaper stats: %v %v", f, err)
	}
	v := make([]uint64, 5)
	for i := range v {
		v[i], _ = strconv.ParseUint(f[i], 10, 64)
	}
	_ = c.in.Close()
	err = c.cmd.Wait()
	return shaperStats{cpu: time.Duration(v[0]), seen: v[1], stamped: v[2], readLag: time.Duration(v[3]), demoted: v[4]}, err
}

func (c *child) kill() {
	_ = c.cmd.Process.Kill()
	_ = c.cmd.Wait()
}
