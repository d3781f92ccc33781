package checkpoint_test

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/checkpoint"
	"github.com/minimind-go/minimind/model/safetensors"
)

func hostData(t *testing.T, c model.Config, w *model.Weights) map[string][]float32 {
	t.Helper()
	out := map[string][]float32{}
	for _, p := range c.Params(w) {
		out[p.Name] = (*p.Ptr).(*model.Host).Data
	}
	return out
}

// TestPthEqualsSafetensors loads the same fp16 weights written by torch.save
// and as safetensors (tools/torchref/gen_pth.py) and requires identical tensors.
func TestPthEqualsSafetensors(t *testing.T) {
	for _, name := range []string{"tiny", "tiny3"} {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("testdata", name)
			c1, w1, err := checkpoint.Load(filepath.Join(dir, "model.safetensors"))
			if err != nil {
				t.Fatal(err)
			}
			c2, w2, err := checkpoint.Load(filepath.Join(dir, "model.pth"))
			if err != nil {
				t.Fatal(err)
			}
			if c1.ParamCount() != c2.ParamCount() {
				t.Fatalf("configs differ: %+v vs %+v", c1, c2)
			}
			a, b := hostData(t, c1, w1), hostData(t, c2, w2)
			for n, x := range a {
				y := b[n]
				if len(x) != len(y) {
					t.Fatalf("%s: %d vs %d values", n, len(x), len(y))
				}
				for i := range x {
					if x[i] != y[i] {
						t.Fatalf("%s[%d]: safetensors %v, pth %v", n, i, x[i], y[i])
					}
				}
			}
		})
	}
}

// TestPthWithoutConfig infers the architecture of a bare MiniMind3 .pth.
func TestPthWithoutConfig(t *testing.T) {
	dir := t.TempDir()
	data, err := os.ReadFile("testdata/tiny3/model.pth")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "full_sft_64.pth"), data, 0o644); err != nil {
		t.Fatal(err)
	}
	got, _, err := checkpoint.Load(filepath.Join(dir, "full_sft_64.pth"))
	if err != nil {
		t.Fatal(err)
	}
	want, _, err := checkpoint.Load("testdata/tiny3/model.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	if got.Hidden != want.Hidden || got.Heads != want.Heads || got.KVHeads != want.KVHeads || got.HeadDim != want.HeadDim ||
		got.FFN != want.FFN || got.Layers != want.Layers || got.Family != want.Family || got.Vocab != want.Vocab {
		t.Errorf("inferred %+v, want %+v", got, want)
	}
}

func TestSaveLoadRoundTrip(t *testing.T) {
	for _, preset := range []string{"tiny", "tiny-moe", "tiny3", "tiny3-moe"} {
		for _, dt := range []string{"F32", "F16"} {
			t.Run(preset+"/"+dt, func(t *testing.T) {
				c, _ := model.Preset(preset)
				w := model.InitWeights(c, 3)
				dir := t.TempDir()
				if err := checkpoint.Save(dir, c, w, checkpoint.SaveOptions{DType: dt}); err != nil {
					t.Fatal(err)
				}
				c2, w2, err := checkpoint.Load(dir)
				if err != nil {
					t.Fatal(err)
				}
				if c2.ParamCount() != c.ParamCount() || c2.Family != c.Family {
					t.Fatalf("config changed: %+v vs %+v", c2, c)
				}
				a, b := hostData(t, c, w), hostData(t, c2, w2)
				for n, x := range a {
					for i := range x {
						want := x[i]
						if dt == "F16" {
							want = safetensors.F16ToFloat32(safetensors.Float32ToF16(want))
						}
						if b[n][i] != want {
							t.Fatalf("%s[%d] = %v, want %v", n, i, b[n][i], want)
						}
					}
				}
			})
		}
	}
}

// writeCase writes a checkpoint of tiny with the given tensors changed.
func writeCase(t *testing.T, edit func(ts []safetensors.Tensor) []safetensors.Tensor, cfgEdit func(map[string]any)) string {
	t.Helper()
	c, _ := model.Preset("tiny")
	w := model.InitWeights(c, 1)
	var ts []safetensors.Tensor
	for _, p := range c.Params(w) {
		ts = append(ts, safetensors.Tensor{Name: p.Name, DType: safetensors.F32, Shape: p.Shape, Data: (*p.Ptr).(*model.Host).Data})
	}
	ts = edit(ts)
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, checkpoint.SafetensorsFile))
	if err != nil {
		t.Fatal(err)
	}
	if err := safetensors.Write(f, ts, nil); err != nil {
		t.Fatal(err)
	}
	f.Close()
	cj, _ := json.Marshal(c)
	var m map[string]any
	json.Unmarshal(cj, &m)
	if cfgEdit != nil {
		cfgEdit(m)
	}
	cj, _ = json.Marshal(m)
	os.WriteFile(filepath.Join(dir, checkpoint.ConfigFile), cj, 0o644)
	return dir
}

func TestLoadErrors(t *testing.T) {
	keep := func(ts []safetensors.Tensor) []safetensors.Tensor { return ts }
	tests := []struct {
		name    string
		dir     func(t *testing.T) string
		wantSub string // the error must name this
	}{
		{"missing tensor", func(t *testing.T) string {
			return writeCase(t, func(ts []safetensors.Tensor) []safetensors.Tensor { return ts[1:] }, nil)
		}, "model.embed_tokens.weight"},
		{"unknown tensor", func(t *testing.T) string {
			return writeCase(t, func(ts []safetensors.Tensor) []safetensors.Tensor {
				return append(ts, safetensors.Tensor{Name: "model.layers.9.extra.weight", DType: safetensors.F32, Shape: []int{2}, Data: []float32{1, 2}})
			}, nil)
		}, "model.layers.9.extra.weight"},
		{"wrong shape", func(t *testing.T) string {
			return writeCase(t, func(ts []safetensors.Tensor) []safetensors.Tensor {
				ts[1].Shape = []int{ts[1].Shape[0] / 2, 2}
				ts[1].Data = ts[1].Data[:ts[1].Shape[0]*2]
				return ts
			}, nil)
		}, "model.layers.0.input_layernorm.weight"},
		{"config mismatch", func(t *testing.T) string {
			return writeCase(t, keep, func(m map[string]any) { m["num_hidden_layers"] = 3 })
		}, "model.layers.2"},
		{"bad config", func(t *testing.T) string {
			return writeCase(t, keep, func(m map[string]any) { m["hidden_size"] = -1 })
		}, "config.json"},
		{"truncated", func(t *testing.T) string {
			dir := writeCase(t, keep, nil)
			p := filepath.Join(dir, checkpoint.SafetensorsFile)
			data, _ := os.ReadFile(p)
			os.WriteFile(p, data[:len(data)/2], 0o644)
			return dir
		}, checkpoint.SafetensorsFile},
		{"bad header", func(t *testing.T) string {
			dir := writeCase(t, keep, nil)
			p := filepath.Join(dir, checkpoint.SafetensorsFile)
			data, _ := os.ReadFile(p)
			copy(data[8:], "not json")
			os.WriteFile(p, data, 0o644)
			return dir
		}, checkpoint.SafetensorsFile},
		{"no model", func(t *testing.T) string { return t.TempDir() }, "not a MiniMind checkpoint"},
		{"untied lm_head in a tied config", func(t *testing.T) string {
			return writeCase(t, func(ts []safetensors.Tensor) []safetensors.Tensor {
				head := append([]float32(nil), ts[0].Data...)
				head[5] += 1
				return append(ts, safetensors.Tensor{Name: "lm_head.weight", DType: safetensors.F32, Shape: ts[0].Shape, Data: head})
			}, nil)
		}, "lm_head.weight differs"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, _, err := checkpoint.Load(tc.dir(t))
			if err == nil {
				t.Fatal("Load accepted a bad checkpoint")
			}
			if !strings.Contains(err.Error(), tc.wantSub) {
				t.Errorf("error %q does not name %q", err, tc.wantSub)
			}
		})
	}
}

// TestSaveKeepsOldOnFailure checks that a save into an unwritable place
// fails without touching the existing checkpoint.
func TestSaveKeepsOldOnFailure(t *testing.T) {
	c, _ := model.Preset("tiny")
	dir := t.TempDir()
	if err := checkpoint.Save(dir, c, model.InitWeights(c, 1), checkpoint.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(filepath.Join(dir, checkpoint.SafetensorsFile))
	bad := model.InitWeights(c, 2)
	bad.Norm = &model.Host{Data: []float32{1}} // wrong size: Save must refuse before writing
	if err := checkpoint.Save(dir, c, bad, checkpoint.SaveOptions{}); err == nil {
		t.Fatal("Save accepted a wrong-sized tensor")
	}
	after, _ := os.ReadFile(filepath.Join(dir, checkpoint.SafetensorsFile))
	if string(before) != string(after) {
		t.Error("a failed save changed the existing checkpoint")
	}
	// A folder that cannot exist (its parent is a file) fails cleanly.
	if err := checkpoint.WriteFileAtomic(filepath.Join(dir, checkpoint.ConfigFile, "x"), []byte("x")); err == nil {
		t.Error("WriteFileAtomic below a regular file succeeded")
	}
	// A failing writer leaves the existing file untouched and no temporary file.
	boom := errors.New("disk full")
	if err := checkpoint.WriteAtomic(filepath.Join(dir, checkpoint.SafetensorsFile), func(w io.Writer) error {
		w.Write([]byte("partial"))
		return boom
	}); !errors.Is(err, boom) {
		t.Errorf("WriteAtomic error %v, want the writer's", err)
	}
	if after, _ := os.ReadFile(filepath.Join(dir, checkpoint.SafetensorsFile)); string(after) != string(before) {
		t.Error("a failed WriteAtomic changed the existing file")
	}
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.Contains(e.Name(), ".tmp") {
			t.Errorf("temporary file %s left behind", e.Name())
		}
	}
}
