//go:build race

package rsstest

// raceEnabled: the race detector multiplies memory use, so the child is
// a test binary built without it.
const raceEnabled = true
