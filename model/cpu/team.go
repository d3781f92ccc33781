package cpu

import (
	"runtime"
	"sync"
	"sync/atomic"
	"time"
)

// team runs the parts of one operation on the engine's threads: the
// calling goroutine and size−1 helper goroutines. Between operations a
// helper spins for teamSpin before it sleeps, so that the dozens of small
// products of one decoding step (one every 10–100 µs) each reach a running
// helper: waking a sleeping goroutine costs tens of microseconds on a
// virtual machine, as much as a product of a small model. An operation
// handed to a busy team (from another goroutine, or from inside a part)
// runs on its caller alone.
type team struct {
	size int

	run sync.Mutex // held while an operation runs

	fn      func(part int) // the operation: parts 1..parts−1 run on helpers
	parts   int
	gen     atomic.Uint64 // incremented to hand out an operation
	pending atomic.Int64  // helpers that have not finished the current one
	closed  atomic.Bool

	sleep    sync.Mutex
	wake     *sync.Cond   // signalled when gen changes or the team closes
	sleepers atomic.Int32 // helpers waiting on wake
}

// teamSpin is how long an idle helper polls for the next operation before
// it sleeps.
const teamSpin = 200 * time.Microsecond

func newTeam(size int) *team {
	t := &team{size: size}
	t.wake = sync.NewCond(&t.sleep)
	for id := 1; id < size; id++ {
		go t.helper(id)
	}
	return t
}

// Run calls fn(i) for every i in [0, parts) (parts ≤ size) and returns when
// all have returned; part 0 runs on the calling goroutine.
func (t *team) Run(parts int, fn func(part int)) {
	if parts <= 1 {
		if parts == 1 {
			fn(0)
		}
		return
	}
	if !t.run.TryLock() {
		// The team is busy: an operation from another goroutine, or one
		// that calls Run from inside a part. Run the parts here, in order.
		for i := range parts {
			fn(i)
		}
		return
	}
	defer t.run.Unlock()
	t.fn, t.parts = fn, parts
	t.pending.Store(int64(t.size - 1))
	t.gen.Add(1) // publishes fn and parts to the helpers
	if t.sleepers.Load() > 0 {
		t.sleep.Lock()
		t.wake.Broadcast()
		t.sleep.Unlock()
	}
	fn(0)
	for t.pending.Load() > 0 {
		runtime.Gosched()
	}
	t.fn = nil
}

// helper runs part id of every operation until the team is closed.
func (t *team) helper(id int) {
	var seen uint64 // gen starts at 0: a Run before this goroutine starts is not missed
	for {
		start := time.Now()
		for spins := 0; t.gen.Load() == seen; spins++ {
			if t.closed.Load() {
				return
			}
			if spins&63 == 63 && time.Since(start) > teamSpin {
				t.sleep.Lock()
				t.sleepers.Add(1)
				for t.gen.Load() == seen && !t.closed.Load() {
					t.wake.Wait()
				}
				t.sleepers.Add(-1)
				t.sleep.Unlock()
				continue
			}
			runtime.Gosched()
		}
		seen = t.gen.Load()
		if id < t.parts {
			t.fn(id)
		}
		t.pending.Add(-1)
	}
}

// close stops the helpers once they are idle.
func (t *team) close() {
	t.closed.Store(true)
	t.sleep.Lock()
	t.wake.Broadcast()
	t.sleep.Unlock()
}
