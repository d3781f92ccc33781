package webgpu

import (
	"testing"

	"github.com/minimind-go/minimind/model"
)

// TestDecodeBatching checks the command flow of greedy decoding: one
// command buffer per step (the argmax read-back), and once warm no new
// buffers (the pool), no new bind groups (the cache) and no new pipelines.
func TestDecodeBatching(t *testing.T) {
	for _, preset := range []string{"tiny", "tiny3"} {
		t.Run(preset, func(t *testing.T) {
			e := openTest(t, Options{})
			c, w := scaledRandom(t, preset, 3, 5)
			m, err := model.New(c, e, w)
			if err != nil {
				t.Fatal(err)
			}
			cache := m.NewCache(1, 64)
			next := []int32{1, 2, 3, 4}
			step := func() {
				l, err := m.Forward(next, 1, model.ForwardOptions{Cache: cache, LastOnly: true})
				if err != nil {
					t.Fatal(err)
				}
				if next, err = e.Argmax(l, 1, c.Vocab); err != nil {
					t.Fatal(err)
				}
				e.Free(l)
			}
			for range 4 {
				step()
			}
			before := e.Stats()
			const steps = 8
			for range steps {
				step()
			}
			after := e.Stats()
			if d := after.Submits - before.Submits; d != steps {
				t.Errorf("%d steps made %d submits, want one each", steps, d)
			}
			if d := after.Buffers - before.Buffers; d != 0 {
				t.Errorf("warm decode created %d buffers", d)
			}
			if d := after.BindGroups - before.BindGroups; d != 0 {
				t.Errorf("warm decode created %d bind groups", d)
			}
			if d := after.Pipelines - before.Pipelines; d != 0 {
				t.Errorf("warm decode compiled %d pipelines", d)
			}
			t.Logf("per step: %d dispatches, %d submit", (after.Dispatches-before.Dispatches)/steps, (after.Submits-before.Submits)/steps)
		})
	}
}
