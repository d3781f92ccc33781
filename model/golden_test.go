package model_test

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"testing"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/checkpoint"
	"github.com/minimind-go/minimind/model/cpu"
	"github.com/minimind-go/minimind/model/safetensors"
)

// goldenTol is the largest relative error (max |got-want| / max |want|)
// allowed against the PyTorch reference in fp32.
const goldenTol = 1e-4

// TestGoldenTraces compares every traced step with the project's PyTorch
// reference (tools/torchref/gen_golden.py) on random weights. Set
// MINIMIND_GOLDEN_FULL to a folder written by `gen_golden.py --full` to also
// check the full-size minimind2-small and minimind2-moe.
func TestGoldenTraces(t *testing.T) {
	dirs, _ := filepath.Glob("testdata/golden/*/trace.safetensors")
	if full := os.Getenv("MINIMIND_GOLDEN_FULL"); full != "" {
		more, _ := filepath.Glob(filepath.Join(full, "*", "trace.safetensors"))
		if len(more) == 0 {
			t.Fatalf("MINIMIND_GOLDEN_FULL=%s holds no */trace.safetensors", full)
		}
		dirs = append(dirs, more...)
	}
	if len(dirs) < 5 {
		t.Fatalf("found %d golden cases, want at least 5", len(dirs))
	}
	for _, tf := range dirs {
		dir := filepath.Dir(tf)
		t.Run(filepath.Base(dir), func(t *testing.T) {
			cfg, w, err := checkpoint.Load(dir)
			if err != nil {
				t.Fatal(err)
			}
			var ids struct{ IDs []int32 }
			data, err := os.ReadFile(filepath.Join(dir, "ids.json"))
			if err != nil {
				t.Fatal(err)
			}
			if err := json.Unmarshal(data, &ids); err != nil {
				t.Fatal(err)
			}
			want, _, err := safetensors.ReadFile(tf)
			if err != nil {
				t.Fatal(err)
			}
			m, err := model.New(cfg, cpu.New(2), w)
			if err != nil {
				t.Fatal(err)
			}
			tr := &model.Trace{}
			if _, err := m.Forward(ids.IDs, 1, model.ForwardOptions{Trace: tr}); err != nil {
				t.Fatal(err)
			}
			if len(tr.Steps) != len(want) {
				t.Errorf("trace has %d steps, reference %d", len(tr.Steps), len(want))
			}
			for _, ref := range want {
				got := tr.Step(ref.Name)
				if got == nil {
					t.Errorf("step %s missing from the Go trace", ref.Name)
					continue
				}
				if !equalShape(got.Shape, ref.Shape) {
					t.Errorf("step %s: shape %v, reference %v", ref.Name, got.Shape, ref.Shape)
					continue
				}
				if r := relErrMasked(got.Data, ref.Data); r > goldenTol {
					t.Errorf("step %s: relative error %.2e > %.0e", ref.Name, r, goldenTol)
				}
			}
		})
	}
}

func equalShape(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// relErrMasked is maxRelErr where -Inf (masked scores) must match exactly.
func relErrMasked(got, want []float32) float64 {
	var maxAbs, maxDiff float64
	for i := range want {
		w, g := float64(want[i]), float64(got[i])
		if math.IsInf(w, 0) || math.IsInf(g, 0) {
			if w != g {
				return math.Inf(1)
			}
			continue
		}
		maxAbs = math.Max(maxAbs, math.Abs(w))
		maxDiff = math.Max(maxDiff, math.Abs(g-w))
	}
	if maxAbs == 0 {
		return maxDiff
	}
	return maxDiff / maxAbs
}
