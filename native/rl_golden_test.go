package native

import (
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/checkpoint"
	"github.com/minimind-go/minimind/model/cpu"
)

// rlOut is <stage>_out.json of tools/torchref/gen_rl_golden.py.
type rlOut struct {
	LossType    string    `json:"loss_type"`
	G           int       `json:"num_generations"`
	Losses      []float64 `json:"losses"`
	GradNorms   []float64 `json:"grad_norms"`
	LRs         []float64 `json:"lrs"`
	KL          float64   `json:"kl"`
	Tokens      int       `json:"tokens"`
	LR          float64   `json:"lr"`
	CriticLR    float64   `json:"critic_lr"`
	TMax        int       `json:"t_max"`
	WeightDecay float64   `json:"weight_decay"`
	Betas       []float64 `json:"betas"`
	Eps         float64   `json:"eps"`
	Clip        float64   `json:"grad_clip"`
	Beta        float64   `json:"beta"`
	Epsilon     float64   `json:"epsilon"`
	EpsilonHigh float64   `json:"epsilon_high"`
	KLCoef      float64   `json:"kl_coef"`
	VFCoef      float64   `json:"vf_coef"`
	Gamma       float64   `json:"gamma"`
	Lambda      float64   `json:"lam"`
	ClipValue   float64   `json:"cliprange_value"`
	Iters       int       `json:"ppo_update_iters"`
	MiniBatch   int       `json:"mini_batch_size"`
	EarlyStop   float64   `json:"early_stop_kl"`
	MaxTotal    int       `json:"max_total_len"`
	Perms       [][]int   `json:"perms"`
	Steps       []struct {
		Rows           []int   `json:"rows"`
		ApproxKL       float64 `json:"approx_kl"`
		Stopped        bool    `json:"stopped"`
		Policy         float64 `json:"policy"`
		Value          float64 `json:"value"`
		Aux            float64 `json:"aux"`
		ActorGradNorm  float64 `json:"actor_grad_norm"`
		CriticGradNorm float64 `json:"critic_grad_norm"`
		ActorLR        float64 `json:"actor_lr"`
		CriticLR       float64 `json:"critic_lr"`
	} `json:"steps"`
}

func (o rlOut) optim() OptimConfig {
	return OptimConfig{Beta1: o.Betas[0], Beta2: o.Betas[1], Eps: o.Eps, WeightDecay: o.WeightDecay, Clip: o.Clip, Accum: 1}
}

// adamRun is what a golden update fed to AdamW: the learning rate of every
// optimizer step and the clipped gradients of both implementations, one map
// (name → entries) per step; a step missing from a map had a zero gradient
// (PPO's early-stopped minibatches).
type adamRun struct {
	optim OptimConfig
	lrs   []float64
	torch []map[string][]float32 // <stage>_grads.safetensors
	ours  []map[string][]float32 // Trainer.clipped
	// roundings, when set, is how many times each implementation rounded a
	// stored weight to float32 over the run (2 per AdamW step: the decay,
	// then the update), each by at most half a unit in the last place
	// (ulp): the replay may then differ from PyTorch's weights by
	// roundings/2 ulps of the weight, and ours from PyTorch's by roundings
	// ulps, beyond the bounds on the update. Over several steps on weights
	// near 1 (the norms) one ulp is 1e-4 of a 1e-3 update; the RL goldens'
	// single step leaves it 0.
	roundings int
}

// recordGrads makes tr record its clipped gradients into *steps.
func recordGrads(tr *Trainer, steps *[]map[string][]float32) {
	tr.clipped = func(name string, g []float32) {
		n := len(*steps)
		if n == 0 || (*steps)[n-1][name] != nil {
			*steps = append(*steps, map[string][]float32{})
			n++
		}
		(*steps)[n-1][name] = slices.Clone(g)
	}
}

// readGrads reads a <stage>_grads.safetensors file ("<step>/<name>") into
// steps maps.
func readGrads(t *testing.T, path string, steps int) []map[string][]float32 {
	t.Helper()
	ts, _ := readTensors(t, path)
	out := make([]map[string][]float32, steps)
	for i := range out {
		out[i] = map[string][]float32{}
	}
	for key, v := range ts {
		k, name, ok := strings.Cut(key, "/")
		require.True(t, ok, "gradient %q", key)
		i, err := strconv.Atoi(k)
		require.NoError(t, err, key)
		require.Less(t, i, steps, key)
		out[i][name] = v
	}
	return out
}

// adam64 replays PyTorch's AdamW (decoupled weight decay, bias-corrected
// moments, eps added to the corrected root) in float64 on one tensor from
// w0 with the given gradients per step (nil: zero).
func adam64(w0 []float32, grads [][]float32, o OptimConfig, lrs []float64) []float64 {
	w := make([]float64, len(w0))
	m := make([]float64, len(w0))
	v := make([]float64, len(w0))
	for i, x := range w0 {
		w[i] = float64(x)
	}
	for s, lr := range lrs {
		bc1 := 1 - math.Pow(o.Beta1, float64(s+1))
		bc2 := 1 - math.Pow(o.Beta2, float64(s+1))
		for i := range w {
			var g float64
			if grads[s] != nil {
				g = float64(grads[s][i])
			}
			w[i] *= 1 - lr*o.WeightDecay
			m[i] = o.Beta1*m[i] + (1-o.Beta1)*g
			v[i] = o.Beta2*v[i] + (1-o.Beta2)*g*g
			w[i] -= lr / bc1 * m[i] / (math.Sqrt(v[i])/math.Sqrt(bc2) + o.Eps)
		}
	}
	return w
}

// checkRLUpdate compares trained tensors with PyTorch's after one or a few
// AdamW steps, on every entry.
//
// AdamW's first step moves an entry by lr·g/(|g| + eps) (plus weight
// decay): an entry whose gradient is near eps (1e-8) moves by an amount
// that the last bits of its gradient decide, so no bound on the weights
// alone can hold there without holding the gradient sums to more bits than
// float32 has. The contract therefore checks what decides each entry:
//
//   - the gradients: at every optimizer step, every entry of our clipped
//     gradient is within gtol·(largest |entry| of PyTorch's clipped gradient
//     at that step) of PyTorch's (<stage>_grads.safetensors);
//   - the golden itself: PyTorch's AdamW replayed in float64 from PyTorch's
//     gradients gives PyTorch's weights within tol·(largest update);
//   - the weights: every entry is within tol·(largest update) of PyTorch's
//     plus a, the difference AdamW (replayed in float64) makes between our
//     gradients and PyTorch's at that entry. a is computed, not a margin:
//     it is below the bound wherever the gradient is well above AdamW's
//     eps, and it is what the (checked) gradient difference becomes where
//     AdamW divides by |g| + eps with |g| near eps;
//   - with run.roundings set, both weight bounds also allow the float32
//     rounding of the stored weights (see adamRun).
//
// It returns the worst deviation relative to the update over the entries
// that needed no allowance.
func checkRLUpdate(t *testing.T, got, before, want map[string][]float32, run adamRun, tol, gtol float64) float64 {
	t.Helper()
	steps := len(run.lrs)
	require.Len(t, run.torch, steps, "PyTorch's gradient steps")
	require.Len(t, run.ours, steps, "our optimizer steps")
	var upd float64
	for name, w := range want {
		b := before[name]
		require.Len(t, b, len(w), name)
		for i := range w {
			upd = max(upd, math.Abs(float64(w[i])-float64(b[i])))
		}
	}
	require.Greater(t, upd, 0.0, "the reference did not move the weights")
	gmax := make([]float64, steps) // largest |entry| of PyTorch's gradient per step
	for s, gs := range run.torch {
		for _, g := range gs {
			gmax[s] = max(gmax[s], maxAbs(g))
		}
	}
	var gdev, golden, plain, allowMax, roundMax, used float64
	allowed := 0
	worst := ""
	for name, w := range want {
		g, ok := got[name]
		require.True(t, ok, "tensor %s missing", name)
		require.Len(t, g, len(w), name)
		b := before[name]
		tg, og := make([][]float32, steps), make([][]float32, steps)
		for s := range steps {
			tg[s], og[s] = run.torch[s][name], run.ours[s][name]
			require.NotNil(t, og[s], "our gradient of %s at step %d", name, s)
			for i := range w {
				var want float64
				if tg[s] != nil {
					want = float64(tg[s][i])
				}
				d := math.Abs(float64(og[s][i]) - want)
				if gmax[s] > 0 {
					d /= gmax[s]
				}
				gdev = max(gdev, d)
				if d > gtol {
					require.LessOrEqual(t, d, gtol, "gradient of %s[%d] at step %d: %g, PyTorch's %g (largest %g)", name, i, s, og[s][i], want, gmax[s])
				}
			}
		}
		fromTorch := adam64(b, tg, run.optim, run.lrs)
		fromOurs := adam64(b, og, run.optim, run.lrs)
		for i := range w {
			// r: half an ulp of the weight per rounding of one implementation
			r := float64(run.roundings) / 2 * ulp32(max(math.Abs(float64(b[i])), math.Abs(float64(w[i]))))
			roundMax = max(roundMax, 2*r/upd)
			golden = max(golden, (math.Abs(fromTorch[i]-float64(w[i]))-r)/upd)
			a := math.Abs(fromOurs[i]-fromTorch[i]) + 2*r
			d := math.Abs(float64(g[i]) - float64(w[i]))
			if a-2*r > tol*upd/10 {
				allowed++
				allowMax = max(allowMax, (a-2*r)/upd)
			} else if d/upd > plain {
				plain, worst = d/upd, fmt.Sprintf("%s[%d]", name, i)
			}
			used = max(used, d/(tol*upd+a))
			if d > tol*upd+a {
				require.LessOrEqual(t, d, tol*upd+a, "%s[%d]: %g, PyTorch's %g: %.3g of the update (AdamW's response to the gradient difference: %.3g)",
					name, i, g[i], w[i], d/upd, a/upd)
			}
		}
	}
	t.Logf("max update %.3g; gradients: max deviation %.3g of the largest entry; golden replay %.3g; weights: max deviation %.3g of the update (at %s); %d entries whose AdamW response to the gradient difference exceeds %.0e of the update (largest %.3g)",
		upd, gdev, golden, plain, worst, allowed, tol/10, allowMax)
	if run.roundings > 0 {
		t.Logf("float32 rounding allowance (%d roundings): up to %.3g of the update; golden replay above is beyond it", run.roundings, roundMax)
	}
	t.Logf("weights: the worst entry uses %.3g of its bound", used)
	require.LessOrEqual(t, golden, tol, "PyTorch's AdamW replayed from its gradients does not give its weights")
	return plain
}

// TestRLGoldenGroup replays the GRPO, CISPO and agent golden rollouts for
// one update each and compares with PyTorch (tools/torchref/gen_rl_golden.py):
// the loss within 1e-5, the gradient norm within 1e-5 relative, every
// entry of the clipped gradient within 1e-5 of its largest entry and every
// weight within 1e-4 of the update size (checkRLUpdate).
func TestRLGoldenGroup(t *testing.T) {
	for _, name := range postCases {
		for _, stage := range []string{"grpo", "cispo", "agent"} {
			t.Run(name+"/"+stage, func(t *testing.T) {
				dir := filepath.Join("testdata", "rl", name)
				var out rlOut
				readJSON(t, filepath.Join(dir, stage+"_out.json"), &out)
				rs, err := ReadRollouts(filepath.Join(dir, stage+"_rollouts.jsonl"))
				require.NoError(t, err)
				m := loadModel(t, dir)
				before := hostMap(m.Config, m.W)
				tr, err := NewTrainer(m, out.optim())
				require.NoError(t, err)
				run := adamRun{optim: out.optim(), lrs: out.LRs, torch: readGrads(t, filepath.Join(dir, stage+"_grads.safetensors"), len(out.LRs))}
				// Each AdamW step rounds a stored weight to float32 twice
				// (decay, update), in both implementations: allowed, as in
				// the post-training goldens.
				run.roundings = 2 * len(run.lrs)
				recordGrads(tr, &run.ours)
				kind, err := ParseLossKind(out.LossType)
				require.NoError(t, err)
				u := &GroupUpdate{Policy: tr, Ref: loadModel(t, dir), G: out.G, Sched: RLSchedule{LR: out.LR, TMax: out.TMax},
					Loss:  PolicyLoss{Kind: kind, Beta: out.Beta, Eps: out.Epsilon, EpsHigh: out.EpsilonHigh},
					Agent: stage == "agent", MaxTotal: out.MaxTotal}
				st, err := u.Step(rs)
				require.NoError(t, err)
				require.InDelta(t, out.Losses[0], st.Loss, 1e-5, "loss")
				require.InDelta(t, out.LRs[0], st.LR, 1e-15, "lr")
				require.InEpsilon(t, out.GradNorms[0], st.GradNorm, 1e-5, "grad norm")
				require.InDelta(t, out.KL, st.KL, 1e-6, "kl")
				require.Equal(t, out.Tokens, int(math.Round(st.Length*float64(len(rs)))), "trained tokens")
				t.Logf("loss %.8f (want %.8f), grad norm %.6f (want %.6f)", st.Loss, out.Losses[0], st.GradNorm, out.GradNorms[0])
				want, _ := readTensors(t, filepath.Join(dir, stage+"_after.safetensors"))
				checkRLUpdate(t, hostMap(m.Config, tr.HostWeights()), before, want, run, 1e-4, 1e-5)
			})
		}
	}
}

// TestRLGoldenPPO replays the PPO golden rollouts (4 prompts, 2 passes of
// 2 minibatches, the early stop crossing in the second pass) and compares
// every minibatch's losses, approximate KL and gradient norms, every
// optimizer step's clipped gradients, and the final actor and critic (body
// and value head) with PyTorch (checkRLUpdate).
func TestRLGoldenPPO(t *testing.T) {
	for _, name := range postCases {
		t.Run(name, func(t *testing.T) {
			dir := filepath.Join("testdata", "rl", name)
			var out rlOut
			readJSON(t, filepath.Join(dir, "ppo_out.json"), &out)
			rs, err := ReadRollouts(filepath.Join(dir, "ppo_rollouts.jsonl"))
			require.NoError(t, err)
			m := loadModel(t, dir)
			before := hostMap(m.Config, m.W)
			actor, err := NewTrainer(m, out.optim())
			require.NoError(t, err)
			cfg, host, err := checkpoint.Load(dir)
			require.NoError(t, err)
			head, _ := readTensors(t, filepath.Join(dir, "ppo_critic_init.safetensors"))
			critic, err := NewCritic(cfg, host, cpu.New(0), head["weight"], head["bias"][0], out.optim())
			require.NoError(t, err)
			arun := adamRun{optim: out.optim(), torch: readGrads(t, filepath.Join(dir, "ppo_grads.safetensors"), len(out.Steps))}
			crun := adamRun{optim: out.optim(), torch: readGrads(t, filepath.Join(dir, "ppo_critic_grads.safetensors"), len(out.Steps))}
			for _, s := range out.Steps {
				arun.lrs = append(arun.lrs, s.ActorLR)
				crun.lrs = append(crun.lrs, s.CriticLR)
			}
			arun.roundings, crun.roundings = 2*len(arun.lrs), 2*len(crun.lrs)
			recordGrads(actor, &arun.ours)
			recordGrads(critic.Trainer, &crun.ours)
			pass := 0
			u := &PPOUpdate{Actor: actor, Critic: critic, Ref: loadModel(t, dir), Eps: out.Epsilon, KLCoef: out.KLCoef,
				VFCoef: out.VFCoef, ClipValue: out.ClipValue, Gamma: out.Gamma, Lambda: out.Lambda, Iters: out.Iters,
				MiniBatch: out.MiniBatch, EarlyStopKL: out.EarlyStop,
				ActorSched: RLSchedule{LR: out.LR, TMax: out.TMax}, CriticSched: RLSchedule{LR: out.CriticLR, TMax: out.TMax},
				Perm: func(int) []int { pass++; return out.Perms[pass-1] }}
			_, err = u.Step(rs)
			require.NoError(t, err)
			require.Len(t, u.Minibatches, len(out.Steps))
			for i, w := range out.Steps {
				g := u.Minibatches[i]
				require.Equal(t, w.Rows, g.Rows, "minibatch %d rows", i)
				require.Equal(t, w.Stopped, g.Stopped, "minibatch %d early stop", i)
				require.InDelta(t, w.Policy, g.Policy, 1e-5, "minibatch %d policy loss", i)
				require.InDelta(t, w.Value, g.Value, 1e-5, "minibatch %d value loss", i)
				require.InDelta(t, w.Aux, g.Aux, 1e-7, "minibatch %d aux", i)
				require.InDelta(t, w.ApproxKL, g.ApproxKL, 1e-5*max(1, w.ApproxKL), "minibatch %d approx kl", i)
				require.InDelta(t, w.ActorGradNorm, g.ActorGradNorm, 1e-5*max(1, w.ActorGradNorm), "minibatch %d actor grad norm", i)
				require.InDelta(t, w.CriticGradNorm, g.CriticGradNorm, 1e-5*max(1, w.CriticGradNorm), "minibatch %d critic grad norm", i)
				require.InDelta(t, w.ActorLR, g.ActorLR, 1e-15)
				require.InDelta(t, w.CriticLR, g.CriticLR, 1e-15)
				t.Logf("minibatch %d: policy %.7f/%.7f value %.7f/%.7f approx kl %.3g stop %v", i, g.Policy, w.Policy, g.Value, w.Value, g.ApproxKL, g.Stopped)
			}
			want, _ := readTensors(t, filepath.Join(dir, "ppo_after.safetensors"))
			checkRLUpdate(t, hostMap(m.Config, actor.HostWeights()), before, want, arun, 1e-4, 1e-5)

			// The critic: body tensors and the value head.
			cwant, _ := readTensors(t, filepath.Join(dir, "ppo_critic_after.safetensors"))
			cgot := map[string][]float32{}
			for i, n := range critic.Trainer.names {
				cgot[n] = critic.Model.Engine.Read(critic.Trainer.weights[i])
			}
			cbefore := hostMap(m.Config, hostOf(t, dir))
			cbefore["value_head.weight"], cbefore["value_head.bias"] = head["weight"], head["bias"]
			checkRLUpdate(t, cgot, cbefore, cwant, crun, 1e-4, 1e-5)
		})
	}
}

func hostOf(t *testing.T, dir string) *model.Weights {
	_, w, err := checkpoint.Load(dir)
	require.NoError(t, err)
	return w
}

// ulp32 is the spacing of float32 numbers at magnitude x.
func ulp32(x float64) float64 {
	f := float32(x)
	return float64(math.Nextafter32(f, float32(math.Inf(1))) - f)
}

func maxAbs(x []float32) float64 {
	var m float64
	for _, v := range x {
		m = max(m, math.Abs(float64(v)))
	}
	return m
}
