package cpu

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/minimind-go/minimind/model"
)

func TestEnginePool(t *testing.T) {
	t.Run("reuses a freed buffer, zeroed", func(t *testing.T) {
		e := New(1)
		a := e.Alloc(100).(*model.Host)
		for i := range a.Data {
			a.Data[i] = 7
		}
		e.Free(a)
		b := e.Alloc(100).(*model.Host)
		require.Same(t, a, b)
		require.Equal(t, make([]float32, 100), b.Data)
		c := e.Alloc(100).(*model.Host)
		require.NotSame(t, b, c, "the pool had one buffer")
	})
	t.Run("sizes are not mixed", func(t *testing.T) {
		e := New(1)
		e.Free(e.Alloc(64))
		require.Len(t, e.Alloc(65).(*model.Host).Data, 65)
		require.Len(t, e.Alloc(63).(*model.Host).Data, 63)
	})
	t.Run("a double Free hands the buffer out once", func(t *testing.T) {
		e := New(1)
		a := e.Alloc(10)
		e.Free(a)
		e.Free(a)
		b, c := e.Alloc(10), e.Alloc(10)
		require.NotSame(t, b, c)
	})
	t.Run("large buffers are left to the collector", func(t *testing.T) {
		e := New(1)
		a := e.Alloc(poolMaxBuffer + 1)
		e.Free(a)
		require.NotSame(t, a, e.Alloc(poolMaxBuffer+1))
	})
	t.Run("the pool stays bounded", func(t *testing.T) {
		e := New(1)
		for n := poolMaxBuffer / 2; n < poolMaxBuffer/2+64; n++ {
			e.Free(e.Alloc(n))
			require.LessOrEqual(t, e.pool.total, poolMaxTotal)
		}
		require.Positive(t, e.pool.total)
	})
	t.Run("nil and empty tensors are ignored", func(t *testing.T) {
		e := New(1)
		e.Free(nil)
		e.Free(&model.Host{})
		require.Zero(t, e.pool.total)
	})
}
