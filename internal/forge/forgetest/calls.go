package forgetest

import "sync"

// callLog counts requests per operation and hands out injected faults, for
// both fakes. It has its own lock: counting never waits on a fake's state.
type callLog struct {
	mu     sync.Mutex
	calls  map[string]int
	faults []*Fault
}

// Calls returns how many requests each operation received, faults included.
func (l *callLog) Calls() map[string]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	out := make(map[string]int, len(l.calls))
	for k, v := range l.calls {
		out[k] = v
	}
	return out
}

// TotalCalls is the sum of Calls.
func (l *callLog) TotalCalls() int {
	n := 0
	for _, v := range l.Calls() {
		n += v
	}
	return n
}

// ResetCalls zeroes the counters, to measure one step of a test.
func (l *callLog) ResetCalls() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.calls = nil
}

// inject queues f; faults are consumed in order.
func (l *callLog) inject(f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.faults = append(l.faults, &f)
}

// count records a request to op and returns the fault it must suffer, if any.
func (l *callLog) count(op string) *Fault {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.calls == nil {
		l.calls = map[string]int{}
	}
	l.calls[op]++
	for i, f := range l.faults {
		if f.Operation != "" && f.Operation != op {
			continue
		}
		f.Times--
		if f.Times <= 0 {
			l.faults = append(l.faults[:i], l.faults[i+1:]...)
		}
		c := *f
		return &c
	}
	return nil
}
