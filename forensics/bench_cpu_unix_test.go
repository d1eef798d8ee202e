//go:build unix

package forensics

import (
	"syscall"
	"time"
)

// processCPU is the CPU time the process has used (user + system, all threads). Benchmarks
// compare stages by CPU time because the shared two-core machine often runs at a load of
// 15-20, where wall time mostly measures the wait for a core.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
