package model_test

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/checkpoint"
	"github.com/minimind-go/minimind/model/cpu"
	"github.com/minimind-go/minimind/model/safetensors"
)

// trainGolden is batch.json of the training goldens (tools/torchref/gen_train_golden.py).
type trainGolden struct {
	InputIDs          [][]int32 `json:"input_ids"`
	Labels            [][]int32 `json:"labels"`
	PackedInputIDs    [][]int32 `json:"packed_input_ids"`
	PackedLabels      [][]int32 `json:"packed_labels"`
	PackedPositionIDs [][]int32 `json:"packed_position_ids"`
	PackedDocIDs      [][]int32 `json:"packed_doc_ids"`
}

func flatten(rows [][]int32) []int32 {
	var out []int32
	for _, r := range rows {
		out = append(out, r...)
	}
	return out
}

// TestGradientsMatchPyTorch checks the loss and the gradient of every
// parameter against the PyTorch reference, padded and packed, for each family.
func TestGradientsMatchPyTorch(t *testing.T) {
	dirs, _ := filepath.Glob("../native/testdata/golden/*/grads.safetensors")
	if len(dirs) < 4 {
		t.Fatalf("found %d training golden cases, want 4", len(dirs))
	}
	for _, gf := range dirs {
		dir := filepath.Dir(gf)
		cfg, w, err := checkpoint.Load(dir)
		if err != nil {
			t.Fatal(err)
		}
		var g trainGolden
		var loss map[string]float64
		readJSON(t, filepath.Join(dir, "batch.json"), &g)
		readJSON(t, filepath.Join(dir, "loss.json"), &loss)
		for _, packed := range []bool{false, true} {
			name := filepath.Base(dir)
			b := model.Batch{B: len(g.InputIDs), T: len(g.InputIDs[0]), Input: flatten(g.InputIDs), Labels: flatten(g.Labels)}
			gradFile, lossKey := "grads.safetensors", "loss"
			if packed {
				name += "/packed"
				b.Input, b.Labels = flatten(g.PackedInputIDs), flatten(g.PackedLabels)
				b.Positions, b.Docs = flatten(g.PackedPositionIDs), flatten(g.PackedDocIDs)
				gradFile, lossKey = "packed_grads.safetensors", "packed_loss"
			}
			t.Run(name, func(t *testing.T) {
				m, err := model.New(cfg, cpu.New(2), w)
				if err != nil {
					t.Fatal(err)
				}
				grads := m.NewGrads()
				info, err := m.LossAndGrad(b, grads, 1)
				if err != nil {
					t.Fatal(err)
				}
				if d := math.Abs(info.Loss - loss[lossKey]); d > 1e-5*math.Abs(loss[lossKey]) {
					t.Errorf("loss %.7f, reference %.7f", info.Loss, loss[lossKey])
				}
				want, _, err := safetensors.ReadFile(filepath.Join(dir, gradFile))
				if err != nil {
					t.Fatal(err)
				}
				byName := map[string][]float32{}
				for _, ts := range want {
					byName[ts.Name] = ts.Data
				}
				for _, p := range cfg.Params(grads) {
					ref, ok := byName[p.Name]
					if !ok {
						t.Errorf("reference has no gradient for %s", p.Name)
						continue
					}
					got := m.Engine.Read(*p.Ptr)
					tol := 1e-4
					if cfg.Family == model.MiniMind3 && cfg.TopK == 1 && strings.HasSuffix(p.Name, "mlp.gate.weight") {
						// With top-1 renormalisation the routing weight is s/s = 1, so the
						// router's gradient comes from the aux loss alone (~1e-5). The
						// reference's float32 w/w backward adds rounding noise (~2e-9) that
						// is exactly zero here; allow it.
						tol = 1e-3
					}
					if r := maxRelErr(got, ref); r > tol {
						t.Errorf("gradient of %s: relative error %.2e > %.0e", p.Name, r, tol)
					}
				}
			})
		}
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestLossMatchesLossAndGrad checks the forward-only validation loss.
func TestLossMatchesLossAndGrad(t *testing.T) {
	m := tinyModel(t, "tiny3", 2)
	b := model.Batch{B: 2, T: 6, Input: []int32{1, 5, 9, 13, 2, 0, 1, 7, 8, 9, 10, 2},
		Labels: []int32{1, 5, 9, 13, 2, -100, 1, 7, 8, 9, 10, 2}}
	want, err := m.LossAndGrad(b, m.NewGrads(), 1)
	if err != nil {
		t.Fatal(err)
	}
	got, err := m.Loss(b)
	if err != nil {
		t.Fatal(err)
	}
	if got.Targets != want.Targets || math.Abs(got.CE-want.CE) > 1e-9 {
		t.Errorf("Loss %+v, LossAndGrad %+v", got, want)
	}
}
