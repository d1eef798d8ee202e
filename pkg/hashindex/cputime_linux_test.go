package hashindex

import (
	"runtime"
	"syscall"
	"time"
	"unsafe"
)

// threadClock measures the CPU time of the calling OS thread. Benchmarks lock their
// goroutine to its thread and time with it, so that on a shared machine the time a query
// spends waiting for a CPU is not counted against whichever side it happened to hit.
type threadClock struct{}

func newThreadClock() threadClock {
	runtime.LockOSThread()
	return threadClock{}
}

func (threadClock) stop() { runtime.UnlockOSThread() }

func (threadClock) now() time.Duration {
	const clockThreadCPUTime = 3 // CLOCK_THREAD_CPUTIME_ID
	var ts syscall.Timespec
	if _, _, errno := syscall.Syscall(syscall.SYS_CLOCK_GETTIME, clockThreadCPUTime, uintptr(unsafe.Pointer(&ts)), 0); errno != 0 {
		panic(errno)
	}
	return time.Duration(ts.Nano())
}

const clockName = "thread CPU time"

// processCPU is the CPU time used by every thread of the process so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		panic(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
