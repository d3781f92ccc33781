package checkpoint_test

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minimind-go/minimind/chat"
	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/checkpoint"
	"github.com/minimind-go/minimind/model/cpu"
	"github.com/minimind-go/minimind/model/gguf"
	"github.com/minimind-go/minimind/model/safetensors"
	"github.com/minimind-go/minimind/tokenizer"
	"github.com/minimind-go/minimind/zoo"
)

// TestLoadGGUF loads GGUF files of each exported architecture and type
// through Load, chat.Load and zoo.Resolve (what mmchat, mmserve and mmtrace
// use) and checks the weights against the originals.
func TestLoadGGUF(t *testing.T) {
	for _, tc := range []struct {
		preset, tok string
		typ         gguf.TensorType
		tol         float64 // max |Δ| relative to the tensor's max |x|
	}{
		{"tiny", "minimind2", gguf.F32, 0},
		{"tiny", "minimind2", gguf.F16, 1e-3},
		{"tiny3", "minimind3", gguf.Q8_0, 1.0/127 + 1e-3},
		{"tiny3-moe", "minimind3", gguf.Q4_0, 1.0/8 + 1e-3},
	} {
		t.Run(tc.preset+"-"+tc.typ.String(), func(t *testing.T) {
			c, err := model.Preset(tc.preset)
			require.NoError(t, err)
			w := model.InitWeights(c, 5)
			tok, err := tokenizer.Load("../../testdata/minimind/" + tc.tok)
			require.NoError(t, err)
			path := filepath.Join(t.TempDir(), "m.gguf")
			var buf bytes.Buffer
			require.NoError(t, gguf.Export(&buf, c, w, tok, gguf.ExportOptions{Type: tc.typ}))
			require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))

			c2, w2, err := checkpoint.Load(path)
			require.NoError(t, err)
			assert.Equal(t, c, c2)
			// Load reads the file directly: the same as through its folder.
			folder, err := checkpoint.GGUFFolder(path)
			require.NoError(t, err)
			c3, w3, err := checkpoint.LoadFS(folder, "")
			require.NoError(t, err)
			require.Equal(t, c3, c2)
			require.Equal(t, w3, w2)
			p1, p2 := c.Params(w), c2.Params(w2)
			for i := range p1 {
				a, b := (*p1[i].Ptr).(*model.Host).Data, (*p2[i].Ptr).(*model.Host).Data
				var amax, worst float64
				for j := range a {
					amax = max(amax, float64(abs32(a[j])))
					worst = max(worst, float64(abs32(a[j]-b[j])))
				}
				if tc.typ == gguf.F16 {
					// exactly the half-precision rounding
					for j := range a {
						require.Equal(t, safetensors.F16ToFloat32(safetensors.Float32ToF16(a[j])), b[j], p1[i].Name)
					}
				}
				require.LessOrEqual(t, worst, tc.tol*amax, p1[i].Name)
			}

			bot, err := chat.Load(path, cpu.New(1))
			require.NoError(t, err)
			_, err = bot.Generate(context.Background(), []tokenizer.Message{{Role: "user", Content: "hi"}}, chat.Options{MaxTokens: 3}, nil)
			require.NoError(t, err)
			dir, fsys, _, err := zoo.Resolve(path)
			require.NoError(t, err)
			assert.Equal(t, path, dir)
			_, err = fs.ReadFile(fsys, "tokenizer.json")
			require.NoError(t, err)
		})
	}
}

func TestLoadGGUFErrors(t *testing.T) {
	c, _ := model.Preset("tiny")
	tok, err := tokenizer.Load("../../testdata/minimind/minimind2")
	require.NoError(t, err)
	var buf bytes.Buffer
	require.NoError(t, gguf.Export(&buf, c, model.InitWeights(c, 5), tok, gguf.ExportOptions{Type: gguf.F16}))
	path := filepath.Join(t.TempDir(), "cut.gguf")
	require.NoError(t, os.WriteFile(path, buf.Bytes()[:buf.Len()/2], 0o644))
	_, _, err = checkpoint.Load(path)
	require.ErrorIs(t, err, gguf.ErrTruncated)
	assert.ErrorContains(t, err, "cut.gguf")
	_, err = chat.Load(path, cpu.New(1))
	require.ErrorIs(t, err, gguf.ErrTruncated)
}

func abs32(x float32) float32 {
	if x < 0 {
		return -x
	}
	return x
}
