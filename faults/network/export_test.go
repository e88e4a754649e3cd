//go:build linux

package network

// ForgetQueueForm makes the next table with a queue rule probe the kernel
// for nft's own queue expression again (tests).
func ForgetQueueForm() { nativeQueue.Store(0) }
