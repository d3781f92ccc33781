package session

import (
	"context"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/cpu"
)

func TestWalk(t *testing.T) {
	for _, tc := range []struct{ preset, family string }{{"tiny", "minimind2"}, {"tiny3-moe", "minimind3"}} {
		t.Run(tc.preset, func(t *testing.T) {
			s, err := Load(context.Background(), tc.preset, testFiles(t, tc.preset, tc.family), cpu.New(1))
			require.NoError(t, err)
			ids := s.Tokenize("Hello, who are you?").IDs
			w, err := s.Walk(ids)
			require.NoError(t, err)
			require.True(t, w.Decoded)
			assert.Equal(t, ids, w.IDs)
			c := s.Model().Config

			// The prefill steps equal a plain detailed trace.
			ref := &model.Trace{Detail: true}
			l, err := s.Model().Forward(ids, 1, model.ForwardOptions{Trace: ref})
			require.NoError(t, err)
			s.Model().Engine.Free(l)
			for _, st := range ref.Steps {
				got, ok := w.Step(st.Name)
				require.True(t, ok, st.Name)
				assert.Equal(t, st.Shape, got.Shape, st.Name)
				assert.Equal(t, st.Data, got.Data, st.Name)
			}
			// The greedy token, then its decode step over the cache.
			logits := ref.Step("logits").Data[(len(ids)-1)*c.Vocab:]
			assert.Equal(t, model.Argmax(logits), w.Next)
			probs, ok := w.Step("next.layers.0.attn_probs")
			require.True(t, ok)
			assert.Equal(t, []int{c.Heads, 1, len(ids) + 1}, probs.Shape)
			kc, ok := w.Step("next.layers.0.k_cache")
			require.True(t, ok)
			assert.Equal(t, len(ids)+1, kc.Shape[0])
			var names []string
			for _, st := range w.Steps {
				names = append(names, st.Name)
			}
			assert.Contains(t, names, "tokens")
			assert.Len(t, w.Rope.Freqs, c.HeadDim/2)
			assert.Len(t, w.Rope.Example.Freqs, c.HeadDim/2)
			assert.Less(t, w.Rope.Example.Freqs[c.HeadDim/2-1], w.Rope.Plain[c.HeadDim/2-1], "YaRN slows the low frequencies")
		})
	}
}

func TestWalkLimits(t *testing.T) {
	s, err := Load(context.Background(), "tiny", testFiles(t, "tiny", "minimind2"), cpu.New(1))
	require.NoError(t, err)
	_, err = s.Walk(nil)
	require.ErrorContains(t, err, "no tokens")
	_, err = s.Walk(make([]int32, MaxWalkTokens+1))
	require.Error(t, err)
	assert.True(t, strings.Contains(err.Error(), "at most 128"), err.Error())
	_, err = s.Walk([]int32{1, 1 << 20})
	require.ErrorContains(t, err, "outside the vocabulary")
}
