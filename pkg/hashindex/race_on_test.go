//go:build race

package hashindex

// raceEnabled trims the single-goroutine property tests under the race detector, which has
// nothing to find there and makes them ten times slower.
const raceEnabled = true
