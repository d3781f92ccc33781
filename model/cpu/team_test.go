package cpu

import (
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestTeam runs operations back to back (helpers spinning) and after pauses
// longer than teamSpin (helpers asleep): every part runs exactly once per
// operation and its effects are visible when Run returns.
func TestTeam(t *testing.T) {
	for _, size := range []int{2, 3, 5} {
		tm := newTeam(size)
		counts := make([]int64, size)
		for op := range 300 {
			parts := 1 + op%size
			var ran atomic.Int64
			tm.Run(parts, func(i int) {
				counts[i]++ // plain write: Run's return must publish it
				ran.Add(1)
			})
			require.Equal(t, int64(parts), ran.Load(), "size %d op %d", size, op)
			if op%50 == 49 {
				time.Sleep(2 * teamSpin) // let the helpers fall asleep
			}
		}
		var total int64
		for _, c := range counts {
			total += c
		}
		want := int64(0)
		for op := range 300 {
			want += int64(1 + op%size)
		}
		require.Equal(t, want, total)
		tm.close()
	}
}

// TestTeamNested checks that an operation started from inside a part of
// another (or while the team is busy) runs on its caller instead of waiting
// for the team forever.
func TestTeamNested(t *testing.T) {
	tm := newTeam(2)
	defer tm.close()
	var inner atomic.Int64
	tm.Run(2, func(int) {
		tm.Run(2, func(int) { inner.Add(1) })
	})
	require.Equal(t, int64(4), inner.Load())
}
