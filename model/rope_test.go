package model_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/cpu"
)

// TestRopeTablesGrow checks that RoPE tables grown on demand, by Forward
// and by ForwardStep, give the same logits bit for bit as tables built for
// every position up front.
func TestRopeTablesGrow(t *testing.T) {
	for _, preset := range []string{"tiny", "tiny3"} {
		t.Run(preset, func(t *testing.T) {
			c, err := model.Preset(preset)
			require.NoError(t, err)
			w := model.InitWeights(c, 3)
			newModel := func() *model.Model {
				m, err := model.New(c, cpu.New(1), w)
				require.NoError(t, err)
				return m
			}
			lazy, full := newModel(), newModel()
			model.GrowRope(full, c.MaxPos-1)
			require.Equal(t, c.MaxPos, model.RopeLen(full))
			require.Equal(t, 1024, model.RopeLen(lazy), "tables built at first")

			// Explicit positions past the first tables: they grow to 4096.
			ids := []int32{5, 6, 7, 8}
			pos := []int32{0, 1023, 1024, 3000}
			want, err := full.Forward(ids, 1, model.ForwardOptions{Positions: pos})
			require.NoError(t, err)
			got, err := lazy.Forward(ids, 1, model.ForwardOptions{Positions: pos})
			require.NoError(t, err)
			require.Equal(t, 4096, model.RopeLen(lazy))
			require.Equal(t, full.Engine.Read(want), lazy.Engine.Read(got))

			// Decoding past the first tables with ForwardStep.
			lazy = newModel()
			prompt := make([]int32, 1022)
			for i := range prompt {
				prompt[i] = int32(3 + i*7%(c.Vocab-3))
			}
			kcFull, kcLazy := full.NewCache(1, 1030), lazy.NewCache(1, 1030)
			for _, run := range []struct {
				m  *model.Model
				kc *model.KVCache
			}{{full, kcFull}, {lazy, kcLazy}} {
				l, err := run.m.Forward(prompt, 1, model.ForwardOptions{Cache: run.kc, LastOnly: true})
				require.NoError(t, err)
				run.m.Engine.Free(l)
			}
			require.Equal(t, 1024, model.RopeLen(lazy))
			for step := range 4 { // positions 1022..1025
				id := []int32{int32(10 + step)}
				want, err := full.ForwardStep(id, []*model.KVCache{kcFull})
				require.NoError(t, err)
				got, err := lazy.ForwardStep(id, []*model.KVCache{kcLazy})
				require.NoError(t, err)
				require.Equal(t, full.Engine.Read(want), lazy.Engine.Read(got), "step at position %d", 1022+step)
			}
			require.Equal(t, 2048, model.RopeLen(lazy))

			// The limit stays the model's positions.
			_, err = lazy.Forward(ids[:1], 1, model.ForwardOptions{Positions: []int32{int32(c.MaxPos)}})
			require.ErrorIs(t, err, model.ErrContextFull)
		})
	}
}

// TestRopeTablesConcurrent runs copies of one model on several goroutines,
// each reaching past the tables built so far (run with -race).
func TestRopeTablesConcurrent(t *testing.T) {
	c, err := model.Preset("tiny")
	require.NoError(t, err)
	m, err := model.New(c, cpu.New(1), model.InitWeights(c, 3))
	require.NoError(t, err)
	want := make([][]float32, 4)
	for g := range want {
		ref, err := model.New(c, cpu.New(1), model.InitWeights(c, 3))
		require.NoError(t, err)
		l, err := ref.Forward([]int32{5}, 1, model.ForwardOptions{Positions: []int32{int32(1500 * (g + 1))}})
		require.NoError(t, err)
		want[g] = ref.Engine.Read(l)
	}
	got := make([][]float32, len(want))
	errs := make(chan error, len(want))
	for g := range want {
		go func() {
			mc := *m // a copy, as a server might hold per request
			mc.Engine = cpu.New(1)
			l, err := mc.Forward([]int32{5}, 1, model.ForwardOptions{Positions: []int32{int32(1500 * (g + 1))}})
			if err == nil {
				got[g] = mc.Engine.Read(l)
			}
			errs <- err
		}()
	}
	for range want {
		require.NoError(t, <-errs)
	}
	require.Equal(t, want, got)
	require.Equal(t, 8192, model.RopeLen(m))
}
