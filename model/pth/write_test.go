package pth

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/minimind-go/minimind/model/safetensors"
)

// TestWriteRoundTrip writes a state dict and reads it back with the reader
// (which is checked against files torch.save wrote).
func TestWriteRoundTrip(t *testing.T) {
	in := []safetensors.Tensor{
		{Name: "model.layers.0.self_attn.q_proj.lora.A.weight", Shape: []int{2, 3}, Data: []float32{1, -2, 0.5, 3, 0.25, -0.125}},
		{Name: "model.layers.0.self_attn.q_proj.lora.B.weight", Shape: []int{3, 2}, Data: []float32{0, 1, 2, 3, 4, 5}},
		{Name: "big", Shape: []int{70000}, Data: make([]float32, 70000)},
	}
	for _, dt := range []safetensors.DType{safetensors.F16, safetensors.F32, safetensors.BF16} {
		t.Run(string(dt), func(t *testing.T) {
			var buf bytes.Buffer
			require.NoError(t, Write(&buf, in, dt))
			path := filepath.Join(t.TempDir(), "x.pth")
			require.NoError(t, os.WriteFile(path, buf.Bytes(), 0o644))
			out, err := ReadFile(path)
			require.NoError(t, err)
			require.Len(t, out, len(in))
			for i, o := range out {
				require.Equal(t, in[i].Name, o.Name)
				require.Equal(t, in[i].Shape, o.Shape)
				require.Equal(t, dt, o.DType)
				require.Equal(t, in[i].Data, o.Data)
			}
		})
	}
}
