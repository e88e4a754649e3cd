// Command pause is the test cluster's sandbox ("pause") image and its smoke
// pod's container (examples/kubernetes/cluster.sh): a static binary in a
// FROM-scratch image, because no image can be pulled. It holds a pod's
// namespaces open and does nothing until SIGTERM or SIGINT, then exits 0;
// as PID 1 of a pod that shares its process namespace it also reaps the
// orphans it inherits (on Unix).
package main

import (
	"os"
	"os/signal"
	"syscall"
)

func main() {
	stop := make(chan os.Signal, 1)
	signal.Notify(stop, syscall.SIGTERM, os.Interrupt)
	reapChildren()
	<-stop
}
