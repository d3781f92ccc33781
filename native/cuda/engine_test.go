//go:build cuda || cudaemu

package cuda

import (
	"math"
	"testing"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/cpu"
)

// The tests run on whatever backend the build tag selects: the CPU
// emulation (cudaemu: any machine) or a GPU (cuda: a machine with an NVIDIA
// driver — without one, gorgonia.org/cu's init exits the test binary).

func newEngine(t *testing.T, opts Options) *Engine {
	t.Helper()
	e, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { e.Close() })
	t.Logf("device: %s", e.Info())
	return e
}

func TestCheckOps(t *testing.T) {
	for _, opts := range []Options{{Precision: FP32, GEMM: GEMMOwn}, {Precision: BF16, GEMM: GEMMOwn}, {Precision: BF16}} {
		t.Run(opts.Precision.String()+gemmName(opts.GEMM), func(t *testing.T) {
			e := newEngine(t, opts)
			res := CheckOps(e, 1)
			if len(res) < 50 {
				t.Errorf("only %d checks ran", len(res))
			}
			for _, r := range res {
				if !r.OK() {
					t.Error(r)
				} else if testing.Verbose() {
					t.Log(r)
				}
			}
			if e.Stats().Fused < 6 {
				t.Errorf("%d fused norm kernels, want ≥ 6 (the checks make 3 forward and 3 backward fusable pairs)", e.Stats().Fused)
			}
		})
	}
}

func gemmName(g GEMM) string {
	switch g {
	case GEMMOwn:
		return "/own"
	case GEMMCuBLASLt:
		return "/cublaslt"
	}
	return "/auto"
}

// tiny returns a tiny preset.
func tiny(t *testing.T, name string) model.Config {
	c, err := model.Preset(name)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestTrainMatchesCPU trains each tiny preset for a few steps on both
// engines from the same weights and batches.
func TestTrainMatchesCPU(t *testing.T) {
	cases := []struct {
		preset string
		packed bool
		prec   Precision
		tol    float64 // |Δloss| / loss
	}{
		{"tiny", false, FP32, 1e-4},
		{"tiny", true, BF16, 2e-2},
		{"tiny3", false, BF16, 2e-2},
		{"tiny-moe", false, FP32, 1e-4},
		{"tiny3-moe", true, FP32, 1e-4},
	}
	for _, tc := range cases {
		name := tc.preset + "/" + tc.prec.String()
		if tc.packed {
			name += "/packed"
		}
		t.Run(name, func(t *testing.T) {
			cfg := TrainConfig{Model: tiny(t, tc.preset), B: 2, T: 40, Steps: 3, Seed: 7, LR: 5e-3, Packed: tc.packed, Repeat: true}
			want, err := Train(cpu.New(0), cfg)
			if err != nil {
				t.Fatal(err)
			}
			e := newEngine(t, Options{Precision: tc.prec, GEMM: GEMMOwn})
			got, err := Train(e, cfg)
			if err != nil {
				t.Fatal(err)
			}
			for s := range want.Loss {
				d := math.Abs(got.Loss[s]-want.Loss[s]) / want.Loss[s]
				t.Logf("step %d: loss cuda %.6f cpu %.6f (rel %.1e); grad norm cuda %.5f cpu %.5f", s+1, got.Loss[s],
					want.Loss[s], d, got.GradNorm[s], want.GradNorm[s])
				if d > tc.tol || math.IsNaN(got.Loss[s]) {
					t.Errorf("step %d: loss %v, CPU %v (relative difference %.2e > %.0e)", s+1, got.Loss[s], want.Loss[s], d, tc.tol)
				}
			}
			if got.Loss[len(got.Loss)-1] >= got.Loss[0] {
				t.Errorf("the loss did not fall: %v", got.Loss)
			}
		})
	}
}

// TestDeterministic trains twice with the same seed: the losses and the
// final weights are bit for bit the same.
func TestDeterministic(t *testing.T) {
	cfg := TrainConfig{Model: tiny(t, "tiny-moe"), B: 2, T: 36, Steps: 2, Seed: 3, LR: 5e-3, Packed: true}
	var runs []TrainResult
	for range 2 {
		e := newEngine(t, Options{})
		r, err := Train(e, cfg)
		if err != nil {
			t.Fatal(err)
		}
		runs = append(runs, r)
	}
	for s := range runs[0].Loss {
		if runs[0].Loss[s] != runs[1].Loss[s] {
			t.Errorf("step %d: losses %v and %v differ", s+1, runs[0].Loss[s], runs[1].Loss[s])
		}
	}
	if runs[0].WeightHash != runs[1].WeightHash {
		t.Errorf("final weights differ: hashes %x, %x", runs[0].WeightHash, runs[1].WeightHash)
	}
}

func TestBadInput(t *testing.T) {
	cases := []struct {
		name string
		op   func(e *Engine)
	}{
		{"token id out of range", func(e *Engine) { e.Embed(e.Alloc(8), e.Alloc(16), []int32{0, 4}, 4) }},
		{"short tensor", func(e *Engine) { e.MatMul(e.Alloc(5), e.Alloc(6), e.Alloc(6), 2, 3, 3) }},
		{"foreign tensor", func(e *Engine) { e.Add(&model.Host{Data: make([]float32, 4)}, e.Alloc(4), e.Alloc(4), 4) }},
		{"label out of range", func(e *Engine) { e.CrossEntropy(e.Alloc(8), e.Alloc(8), []int32{1, 9}, 2, 4, 1) }},
		{"head_dim too large", func(e *Engine) {
			a := model.AttnArgs{B: 1, T: 1, Heads: 1, KVHeads: 1, HeadDim: 256, S: 1, Scale: 1}
			e.Attention(e.Alloc(256), e.Alloc(256), e.Alloc(256), e.Alloc(256), a)
		}},
		{"position beyond the table", func(e *Engine) { e.RoPE(e.Alloc(8), e.Alloc(4), e.Alloc(4), []int32{1, 2}, 1, 4) }},
		{"use after free", func(e *Engine) {
			x := e.Alloc(4)
			e.Free(x)
			e.Scale(x, 4, 2)
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := newEngine(t, Options{})
			tc.op(e)
			if e.Err() == nil {
				t.Fatal("no error")
			}
			t.Log(e.Err())
			if got := e.Read(e.Upload([]float32{1, 2})); len(got) != 2 || got[0] != 0 {
				t.Errorf("after an error Read returns %v, want zeros", got)
			}
		})
	}
}
