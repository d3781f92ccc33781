package pth

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minimind-go/minimind/model/safetensors"
)

func TestWriteRoundTrip(t *testing.T) {
	emb := []float32{1, 2, 3, 4, 5, 6}
	ts := []WriteTensor{
		{Name: "model.embed_tokens.weight", Shape: []int{3, 2}, Data: emb},
		{Name: "model.norm.weight", Shape: []int{2}, Data: []float32{0.5, -0.25}},
		{Name: "lm_head.weight", Shape: []int{3, 2}, SameAs: "model.embed_tokens.weight"},
	}
	for _, dt := range []safetensors.DType{safetensors.F16, safetensors.F32} {
		t.Run(string(dt), func(t *testing.T) {
			var buf bytes.Buffer
			require.NoError(t, Write(&buf, ts, dt))
			got, err := Read(bytes.NewReader(buf.Bytes()), int64(buf.Len()), "w.pth")
			require.NoError(t, err)
			require.Len(t, got, 3)
			byName := map[string]Tensor{}
			for _, g := range got {
				byName[g.Name] = g
			}
			assert.Equal(t, emb, byName["model.embed_tokens.weight"].Data)
			assert.Equal(t, emb, byName["lm_head.weight"].Data)
			assert.Equal(t, []int{3, 2}, byName["lm_head.weight"].Shape)
			assert.Equal(t, []float32{0.5, -0.25}, byName["model.norm.weight"].Data)
		})
	}
	err := Write(&bytes.Buffer{}, ts[2:], safetensors.F16)
	assert.ErrorContains(t, err, "lm_head.weight")
}

// TestWriteTorchLoads checks that PyTorch itself loads the file (Debian's
// python3-torch; skipped without it unless MINIMIND_REQUIRE_TORCH is set).
func TestWriteTorchLoads(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import torch").Run(); err != nil {
		if os.Getenv("MINIMIND_REQUIRE_TORCH") != "" {
			t.Fatalf("python3-torch is required: %v", err)
		}
		t.Skip("python3-torch not installed")
	}
	path := filepath.Join(t.TempDir(), "m.pth")
	var buf bytes.Buffer
	require.NoError(t, Write(&buf, []WriteTensor{
		{Name: "a.weight", Shape: []int{2, 3}, Data: []float32{1, 2, 3, 4, 5, 6.5}},
		{Name: "b", Shape: []int{2, 3}, SameAs: "a.weight"},
		{Name: "c", Shape: []int{1}, Data: []float32{-2}},
	}, safetensors.F16))
	require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
	out, err := exec.Command(py, "-c", `
import sys, torch
sd = torch.load(sys.argv[1], map_location="cpu")
print(type(sd).__name__, list(sd.keys()), sd["a.weight"].dtype, sd["a.weight"].tolist(), sd["b"].data_ptr() == sd["a.weight"].data_ptr(), sd["c"].tolist())
`, path).CombinedOutput()
	require.NoError(t, err, "%s", out)
	assert.Equal(t, "OrderedDict ['a.weight', 'b', 'c'] torch.float16 [[1.0, 2.0, 3.0], [4.0, 5.0, 6.5]] True [-2.0]\n", string(out))
}
