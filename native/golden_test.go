package native

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/checkpoint"
	"github.com/minimind-go/minimind/model/cpu"
	"github.com/minimind-go/minimind/model/safetensors"
)

// goldenCases are the folders of testdata/golden written by
// tools/torchref/gen_train_golden.py.
var goldenCases = []string{"tiny", "tiny-moe", "tiny3", "tiny3-moe"}

// goldenStep is one micro-batch of steps.json.
type goldenStep struct {
	InputIDs [][]int32 `json:"input_ids"`
	Labels   [][]int32 `json:"labels"`
}

// goldenOut is steps_out.json.
type goldenOut struct {
	Losses      []float64 `json:"losses"`
	LRs         []float64 `json:"lrs"`
	GradNorms   []float64 `json:"grad_norms"`
	BaseLR      float64   `json:"base_lr"`
	Accum       int       `json:"accumulation_steps"`
	WeightDecay float64   `json:"weight_decay"`
	Betas       []float64 `json:"betas"`
	Eps         float64   `json:"eps"`
	Clip        float64   `json:"grad_clip"`
	Total       int       `json:"total_steps"`
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

func flat(rows [][]int32) []int32 { return slices.Concat(rows...) }

// loadGolden reads a golden case: the model at its initial weights, the
// micro-batches and the expected run.
func loadGolden(t *testing.T, name string) (*model.Model, []model.Batch, goldenOut) {
	t.Helper()
	dir := filepath.Join("testdata", "golden", name)
	cfg, w, err := checkpoint.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.New(cfg, cpu.New(0), w)
	if err != nil {
		t.Fatal(err)
	}
	var steps []goldenStep
	readJSON(t, filepath.Join(dir, "steps.json"), &steps)
	var out goldenOut
	readJSON(t, filepath.Join(dir, "steps_out.json"), &out)
	var batches []model.Batch
	for _, s := range steps {
		batches = append(batches, model.Batch{B: len(s.InputIDs), T: len(s.InputIDs[0]), Input: flat(s.InputIDs), Labels: flat(s.Labels)})
	}
	return m, batches, out
}

func goldenOptim(out goldenOut) OptimConfig {
	return OptimConfig{Beta1: out.Betas[0], Beta2: out.Betas[1], Eps: out.Eps, WeightDecay: out.WeightDecay, Clip: out.Clip, Accum: out.Accum}
}

// relErr is max|a-b| / max|b|.
func relErr(a, b []float32) float64 {
	var d, n float64
	for i := range a {
		d = max(d, math.Abs(float64(a[i])-float64(b[i])))
		n = max(n, math.Abs(float64(b[i])))
	}
	if n == 0 {
		return d
	}
	return d / n
}

// compareWeights checks every tensor of w against the golden file.
func compareWeights(t *testing.T, cfg model.Config, w *model.Weights, path string, tol float64) {
	t.Helper()
	want, _, err := safetensors.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string][]float32{}
	for _, ts := range want {
		byName[ts.Name] = ts.Data
	}
	worst, worstName := 0.0, ""
	for _, p := range cfg.Params(w) {
		ref, ok := byName[p.Name]
		if !ok {
			t.Fatalf("%s: tensor %s missing", path, p.Name)
		}
		got := (*p.Ptr).(*model.Host).Data
		if e := relErr(got, ref); e > worst {
			worst, worstName = e, p.Name
		}
		if e := relErr(got, ref); e > tol {
			t.Errorf("%s: relative error %.3g > %.g", p.Name, e, tol)
		}
	}
	t.Logf("worst weight relative error %.3g (%s)", worst, worstName)
}

// TestGoldenTrainer drives the trainer core with the golden micro-batches
// and compares losses, learning rates, gradient norms and the final
// weights with PyTorch's run.
func TestGoldenTrainer(t *testing.T) {
	for _, name := range goldenCases {
		t.Run(name, func(t *testing.T) {
			m, batches, out := loadGolden(t, name)
			tr, err := NewTrainer(m, goldenOptim(out))
			if err != nil {
				t.Fatal(err)
			}
			sched := Schedule{LR: out.BaseLR, Total: out.Total}
			var norms []float64
			for i, b := range batches {
				lr := sched.At(i + 1)
				if math.Abs(lr-out.LRs[i]) > 1e-12*out.BaseLR {
					t.Errorf("micro-step %d: lr %.17g, want %.17g", i+1, lr, out.LRs[i])
				}
				r, err := tr.MicroStep(b, lr)
				if err != nil {
					t.Fatal(err)
				}
				if e := math.Abs(r.Loss-out.Losses[i]) / out.Losses[i]; e > 1e-5 {
					t.Errorf("micro-step %d: loss %.7f, want %.7f (rel %.2g)", i+1, r.Loss, out.Losses[i], e)
				}
				if r.Stepped {
					norms = append(norms, r.GradNorm)
				}
			}
			if len(norms) != len(out.GradNorms) {
				t.Fatalf("%d optimizer steps, want %d", len(norms), len(out.GradNorms))
			}
			for i := range norms {
				if e := math.Abs(norms[i]-out.GradNorms[i]) / out.GradNorms[i]; e > 1e-4 {
					t.Errorf("optimizer step %d: grad norm %.6f, want %.6f", i+1, norms[i], out.GradNorms[i])
				}
			}
			compareWeights(t, m.Config, tr.HostWeights(), filepath.Join("testdata", "golden", name, "after_10.safetensors"), 1e-4)
		})
	}
}
