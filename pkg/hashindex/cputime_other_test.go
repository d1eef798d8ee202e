//go:build !linux

package hashindex

import "time"

// threadClock falls back to the wall clock where thread CPU time is not wired up.
type threadClock struct{ start time.Time }

func newThreadClock() threadClock        { return threadClock{time.Now()} }
func (threadClock) stop()                {}
func (c threadClock) now() time.Duration { return time.Since(c.start) }

const clockName = "wall time"

// processCPU is not measured here.
func processCPU() time.Duration { return 0 }
