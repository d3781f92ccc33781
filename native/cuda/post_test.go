//go:build cuda || cudaemu

package cuda

import (
	"math"
	"math/rand/v2"
	"testing"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/cpu"
	"github.com/minimind-go/minimind/native"
)

// postBatches makes n SFT-style micro-batches of 2 rows × T tokens (DPO:
// one pair) with labels on the second half of each row.
func postBatches(n, T, vocab int) []model.Batch {
	rng := rand.New(rand.NewPCG(3, 4))
	var out []model.Batch
	for i := range n {
		b := model.Batch{B: 2, T: T, Input: make([]int32, 2*T), Labels: make([]int32, 2*T), Samples: []int32{int32(i)}}
		for j := range b.Input {
			b.Input[j] = int32(3 + rng.IntN(vocab-3))
			b.Labels[j] = model.IgnoreIndex
			if j%T >= T/2 {
				b.Labels[j] = b.Input[j]
			}
			if j%T == T/2+1 {
				b.Input[j], b.Labels[j] = 25, 25 // a think tag for the reasoning loss
			}
		}
		out = append(out, b)
	}
	return out
}

// TestPostTrainingMatchesCPU runs the post-training stages' objectives
// (LoRA on every projection, DPO, distillation from an MoE teacher, the
// reasoning loss) for 4 micro-steps on this engine and on the CPU engine
// from the same weights and compares the losses.
func TestPostTrainingMatchesCPU(t *testing.T) {
	cfg := tiny(t, "tiny3")
	tcfg := tiny(t, "tiny3-moe")
	host := model.InitWeights(cfg, 5)
	thost := model.InitWeights(tcfg, 6)
	batches := postBatches(4, 24, cfg.Vocab)
	for _, stage := range []string{"lora", "dpo", "distill", "reason"} {
		t.Run(stage, func(t *testing.T) {
			losses := map[string][]float64{}
			for _, name := range []string{"cpu", "cuda"} {
				var eng model.Engine = cpu.New(0)
				if name == "cuda" {
					eng = newEngine(t, Options{Precision: FP32, GEMM: GEMMOwn})
				}
				m, err := model.New(cfg, eng, host)
				if err != nil {
					t.Fatal(err)
				}
				opt := native.DefaultOptim()
				opt.Accum = 2
				var tr *native.Trainer
				if stage == "lora" {
					if _, err := model.AttachLoRA(m, model.LoRAOptions{Rank: 4, Alpha: 8, Targets: model.LoRATargets, Seed: 1}); err != nil {
						t.Fatal(err)
					}
					tr, err = native.NewLoRATrainer(m, opt)
				} else {
					tr, err = native.NewTrainer(m, opt)
				}
				if err != nil {
					t.Fatal(err)
				}
				switch stage {
				case "dpo":
					ref, _ := model.New(cfg, eng, host)
					tr.Objective = &native.DPO{Beta: 0.15, Ref: ref}
				case "distill":
					teacher, _ := model.New(tcfg, eng, thost)
					tr.Objective = &native.Distill{Teacher: teacher, Alpha: 0.5, Temp: 1.5}
				case "reason":
					tr.Objective = &native.Reason{TagIDs: []int32{25, 26}, Weight: 10}
				}
				for _, b := range batches {
					r, err := tr.MicroStep(b, 5e-3)
					if err != nil {
						t.Fatal(err)
					}
					losses[name] = append(losses[name], r.Loss)
				}
			}
			for s, want := range losses["cpu"] {
				got := losses["cuda"][s]
				d := math.Abs(got-want) / math.Abs(want)
				t.Logf("micro-step %d: loss cuda %.6f cpu %.6f (rel %.1e)", s+1, got, want, d)
				if d > 1e-4 || math.IsNaN(got) {
					t.Errorf("micro-step %d: loss %v, CPU %v", s+1, got, want)
				}
			}
		})
	}
}
