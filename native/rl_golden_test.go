package native

import (
	"fmt"
	"math"
	"path/filepath"
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

// checkRLUpdate compares trained tensors with PyTorch's after one or a
// few AdamW steps. AdamW's first step moves an entry by lr·g/(|g| + eps)
// (plus weight decay), so entries whose gradient is near eps (1e-8) move by
// an amount that the float32 rounding of their gradient decides, in both
// implementations alike. The check therefore has two parts:
//   - entries that PyTorch moved by at least 99% of the largest update
//     (clipped gradients above 100·eps): |got − want| ≤ tol·(largest update);
//   - every entry: |got − want| ≤ loose·(largest update), and the L2 norm
//     of the deviation ≤ loose·(L2 norm of the update).
//
// noisy (may be nil) names tensors whose gradient is pure rounding noise
// (the router of a MoE critic, whose aux loss is dropped: MiniMind's top-1
// weight w/(w + 1e-20) is 1, so no signal reaches the router); they are
// only logged.
//
// It returns the worst ratio over the confident entries.
func checkRLUpdate(t *testing.T, got, before, want map[string][]float32, tol, loose float64, noisy func(string) bool) float64 {
	t.Helper()
	var upd float64
	for name, w := range want {
		b := before[name]
		require.Len(t, b, len(w), name)
		for i := range w {
			upd = max(upd, math.Abs(float64(w[i])-float64(b[i])))
		}
	}
	require.Greater(t, upd, 0.0, "the reference did not move the weights")
	var dev, devSure, dev2, upd2 float64
	worst, sure := "", 0
	for name, w := range want {
		g, ok := got[name]
		require.True(t, ok, "tensor %s missing", name)
		require.Len(t, g, len(w), name)
		b := before[name]
		if noisy != nil && noisy(name) {
			t.Logf("%s: gradient is rounding noise; deviation %.3g of the update", name, relErr(g, w)*maxAbs(w)/upd)
			continue
		}
		for i := range w {
			d := math.Abs(float64(g[i]) - float64(w[i]))
			u := float64(w[i]) - float64(b[i])
			if d > dev {
				dev, worst = d, fmt.Sprintf("%s[%d] (update %.3g)", name, i, u)
			}
			if math.Abs(u) >= 0.99*upd {
				devSure = max(devSure, d)
				sure++
			}
			dev2 += d * d
			upd2 += u * u
		}
	}
	l2 := math.Sqrt(dev2 / upd2)
	t.Logf("max update %.3g; %d entries moved ≥ 99%% of it: max deviation %.3g of the update; all entries: max %.3g at %s, L2 %.3g",
		upd, sure, devSure/upd, dev/upd, worst, l2)
	require.LessOrEqual(t, devSure/upd, tol, "deviation from PyTorch's weights relative to the update size")
	require.LessOrEqual(t, dev/upd, loose, "deviation of any entry relative to the update size")
	require.LessOrEqual(t, l2, loose, "L2 deviation relative to the update's L2 norm")
	return devSure / upd
}

// TestRLGoldenGroup replays the GRPO, CISPO and agent golden rollouts for
// one update each and compares with PyTorch (tools/torchref/gen_rl_golden.py):
// the loss within 1e-5, the gradient norm within 1e-5 relative and the
// weights within 1e-4 of the update size.
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
				checkRLUpdate(t, hostMap(m.Config, tr.HostWeights()), before, want, 1e-4, 2e-2, nil)
			})
		}
	}
}

// TestRLGoldenPPO replays the PPO golden rollouts (4 prompts, 2 passes of
// 2 minibatches, the early stop crossing in the second pass) and compares
// every minibatch's losses, approximate KL and gradient norms, and the
// final actor and critic (body and value head) with PyTorch.
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
			checkRLUpdate(t, hostMap(m.Config, actor.HostWeights()), before, want, 1e-4, 2e-2, nil)

			// The critic: body tensors and the value head.
			cwant, _ := readTensors(t, filepath.Join(dir, "ppo_critic_after.safetensors"))
			cgot := map[string][]float32{}
			for i, n := range critic.Trainer.names {
				cgot[n] = critic.Model.Engine.Read(critic.Trainer.weights[i])
			}
			cbefore := hostMap(m.Config, hostOf(t, dir))
			cbefore["value_head.weight"], cbefore["value_head.bias"] = head["weight"], head["bias"]
			checkRLUpdate(t, cgot, cbefore, cwant, 1e-4, 2e-2, func(n string) bool { return strings.HasSuffix(n, ".mlp.gate.weight") })
		})
	}
}

func hostOf(t *testing.T, dir string) *model.Weights {
	_, w, err := checkpoint.Load(dir)
	require.NoError(t, err)
	return w
}

func maxAbs(x []float32) float64 {
	var m float64
	for _, v := range x {
		m = max(m, math.Abs(float64(v)))
	}
	return m
}
