package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/minimind-go/minimind/corpus"
	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/checkpoint"
	"github.com/minimind-go/minimind/native"
	"github.com/minimind-go/minimind/reward"
	"github.com/minimind-go/minimind/tokenizer"
	"github.com/minimind-go/minimind/toolcall"
)

// rlDefaults are MiniMind's defaults of train_grpo.py, train_ppo.py and
// train_agent.py.
type rlDefaults struct {
	dataPath, saveWeight     string
	G, seqLen, genLen, batch int
	thinking                 float64
	reward                   string
}

func rlDefaultsFor(stage string) rlDefaults {
	switch stage {
	case "ppo":
		return rlDefaults{"../dataset/rlaif.jsonl", "ppo_actor", 1, 768, 1024, 2, 0.9, "rule"}
	case "agent":
		return rlDefaults{"../dataset/agent_rl.jsonl", "agent", 4, 1024, 768, 2, 0.1, "agent"}
	}
	return rlDefaults{"../dataset/rlaif.jsonl", "grpo", 6, 768, 1024, 2, 0.9, "rule"}
}

// rlFlags are the flags of grpo, ppo and agent.
type rlFlags struct {
	dataPath, fromWeight, saveDir, saveWeight, tokenizer string
	epochs, batch, accum, G, seqLen, genLen, maxTotal    int
	lr, criticLR, clip, beta, eps, epsHigh, thinking     float64
	lossType                                             string
	klCoef, vfCoef, gamma, lam, clipValue, earlyStop     float64
	ppoIters, miniBatch                                  int
	temperature, topP                                    float64
	topK                                                 int
	rewardSpec, rewardURL                                string
	saveRollouts, fromRollouts                           string
	fromResume, saveInterval, threads                    int
	seed                                                 uint64
	device                                               string
}

func parseRLFlags(stage string, args []string, stderr io.Writer) (*rlFlags, error) {
	d := rlDefaultsFor(stage)
	f := &rlFlags{}
	fs := flag.NewFlagSet("mmtrain "+stage, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.dataPath, "data_path", d.dataPath, `prompts: {"conversations": [...], "gt": [...]} jsonl`)
	fs.StringVar(&f.fromWeight, "from_weight", "full_sft", "start weights (a checkpoint folder, or a save_weight name in save_dir); also the frozen reference")
	fs.StringVar(&f.saveDir, "save_dir", "../out", "output folder")
	fs.StringVar(&f.saveWeight, "save_weight", d.saveWeight, "name prefix of the saved weights")
	fs.StringVar(&f.tokenizer, "tokenizer", "", "tokenizer folder (default: the --from_weight folder)")
	fs.IntVar(&f.epochs, "epochs", 1, "passes over the prompts")
	fs.IntVar(&f.batch, "batch_size", d.batch, "prompts per step")
	fs.Float64Var(&f.lr, "learning_rate", 3e-7, "learning rate (cosine annealing to 10%)")
	fs.IntVar(&f.accum, "accumulation_steps", 1, "steps per optimizer step")
	fs.Float64Var(&f.clip, "grad_clip", 1.0, "gradient-norm clip")
	fs.IntVar(&f.seqLen, "max_seq_len", d.seqLen, "prompt tokens kept")
	fs.IntVar(&f.genLen, "max_gen_len", d.genLen, "new tokens per completion (per turn for agent)")
	fs.Float64Var(&f.thinking, "thinking_ratio", d.thinking, "share of prompts rendered with open thinking")
	fs.Float64Var(&f.beta, "beta", 0.1, "KL coefficient")
	fs.Float64Var(&f.temperature, "temperature", 0.8, "rollout temperature")
	fs.IntVar(&f.topK, "top_k", 50, "rollout top-k")
	fs.Float64Var(&f.topP, "top_p", 0.85, "rollout top-p")
	if stage == "ppo" {
		fs.Float64Var(&f.criticLR, "critic_learning_rate", 5e-7, "critic learning rate")
		fs.Float64Var(&f.eps, "clip_epsilon", 0.2, "policy ratio clip")
		fs.Float64Var(&f.vfCoef, "vf_coef", 0.5, "value loss weight")
		fs.Float64Var(&f.klCoef, "kl_coef", 0.02, "KL penalty weight")
		fs.Float64Var(&f.gamma, "gamma", 1.0, "discount")
		fs.Float64Var(&f.lam, "lam", 0.95, "GAE lambda")
		fs.Float64Var(&f.clipValue, "cliprange_value", 0.2, "value clip")
		fs.IntVar(&f.ppoIters, "ppo_update_iters", 2, "passes over each batch")
		fs.Float64Var(&f.earlyStop, "early_stop_kl", 0.25, "stop the passes when the approximate KL exceeds it")
		fs.IntVar(&f.miniBatch, "mini_batch_size", 2, "rows per minibatch")
	} else {
		fs.IntVar(&f.G, "num_generations", d.G, "completions per prompt")
		fs.StringVar(&f.lossType, "loss_type", "cispo", "cispo or grpo")
		fs.Float64Var(&f.eps, "epsilon", 0.2, "GRPO's ratio clip")
		fs.Float64Var(&f.epsHigh, "epsilon_high", 5.0, "CISPO's ratio cap")
	}
	if stage == "agent" {
		fs.IntVar(&f.maxTotal, "max_total_len", 2500, "trained tokens per trajectory (cut from the left)")
	}
	fs.StringVar(&f.rewardSpec, "reward", d.reward, "reward terms name[:weight],...: rule, exact, contains, tool, agent, url")
	fs.StringVar(&f.rewardURL, "reward_url", "", `reward model endpoint: POST {"messages", "answer"} → {"score"} (added as "url" with weight 1 unless --reward names it)`)
	fs.StringVar(&f.saveRollouts, "save_rollouts", "", "write every rollout to this jsonl")
	fs.StringVar(&f.fromRollouts, "from_rollouts", "", "train on this rollouts jsonl instead of generating")
	fs.IntVar(&f.fromResume, "from_resume", 0, "1: continue from the resume checkpoint in save_dir")
	fs.IntVar(&f.saveInterval, "save_interval", 10, "save every N steps")
	fs.IntVar(&f.threads, "threads", 0, "CPU threads (0: all cores)")
	fs.Uint64Var(&f.seed, "seed", 42, "seed of the prompt order and sampling")
	fs.StringVar(&f.device, "device", "cpu", "training engine: cpu, or cuda in a binary built with -tags cuda")
	var logInterval, hidden, layers, useMoE int
	fs.IntVar(&logInterval, "log_interval", 1, "(every step is logged)")
	fs.IntVar(&hidden, "hidden_size", 768, "(taken from --from_weight)")
	fs.IntVar(&layers, "num_hidden_layers", 8, "(taken from --from_weight)")
	fs.IntVar(&useMoE, "use_moe", 0, "(taken from --from_weight)")
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	if stage == "ppo" {
		f.G = 1
	}
	switch {
	case f.epochs < 1 || f.batch < 1 || f.accum < 1 || f.G < 1:
		return nil, fmt.Errorf("%w: epochs, batch_size, accumulation_steps and num_generations must be ≥ 1", errUsage)
	case f.genLen < 1 || f.seqLen < 1:
		return nil, fmt.Errorf("%w: max_seq_len and max_gen_len must be ≥ 1", errUsage)
	case stage != "ppo" && f.lossType != "cispo" && f.lossType != "grpo":
		return nil, fmt.Errorf("%w: --loss_type must be cispo or grpo", errUsage)
	case f.fromResume != 0 && f.fromResume != 1:
		return nil, fmt.Errorf("%w: from_resume takes 0 or 1", errUsage)
	case f.device != "cpu" && f.device != "cuda":
		return nil, fmt.Errorf("%w: --device must be cpu or cuda", errUsage)
	}
	return f, nil
}

// buildReward composes --reward and --reward_url.
func buildReward(spec, url string) (reward.Func, error) {
	var sum reward.Sum
	hasURL := false
	for _, part := range strings.Split(spec, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		name, w := part, 1.0
		if i := strings.IndexByte(part, ':'); i >= 0 {
			v, err := strconv.ParseFloat(part[i+1:], 64)
			if err != nil || math.IsNaN(v) {
				return nil, fmt.Errorf("%w: --reward %q: bad weight", errUsage, part)
			}
			name, w = part[:i], v
		}
		var fn reward.Func
		switch name {
		case "rule":
			fn = reward.Rule{}
		case "exact":
			fn = reward.Exact{}
		case "contains":
			fn = reward.Contains{}
		case "tool":
			fn = reward.ValidToolCall{}
		case "agent":
			var rm reward.Func
			if url != "" {
				rm, hasURL = reward.HTTP{URL: url}, true
			}
			fn = reward.Agent{RM: rm}
		case "url":
			if url == "" {
				return nil, fmt.Errorf("%w: --reward names url but --reward_url is empty", errUsage)
			}
			fn, hasURL = reward.HTTP{URL: url}, true
		default:
			return nil, fmt.Errorf("%w: --reward: unknown term %q (rule, exact, contains, tool, agent, url)", errUsage, name)
		}
		sum = append(sum, reward.Term{Weight: w, Func: fn})
	}
	if url != "" && !hasURL {
		sum = append(sum, reward.Term{Weight: 1, Func: reward.HTTP{URL: url}})
	}
	if len(sum) == 0 {
		return nil, fmt.Errorf("%w: --reward is empty", errUsage)
	}
	return sum, nil
}

// agentTools are the agent stage's tools: calculator, unit converter and a
// dictionary lookup over the embedded corpus's definitions.
func agentTools() (*toolcall.Set, error) {
	items, err := corpus.EvalSet()
	if err != nil {
		return nil, err
	}
	dict := map[string]string{}
	for _, it := range items {
		dict[it.Word] = it.Reference
	}
	return toolcall.NewSet(toolcall.Calculator{}, toolcall.UnitConverter{}, toolcall.NewLookup(dict)), nil
}

func rl(ctx context.Context, stage string, args []string, stdout, stderr io.Writer) error {
	f, err := parseRLFlags(stage, args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	logf := func(format string, a ...any) {
		fmt.Fprintf(stderr, "%s %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, a...))
	}
	rw, err := buildReward(f.rewardSpec, f.rewardURL)
	if err != nil {
		return err
	}
	path, err := native.FindWeights(f.fromWeight, f.saveDir, model.Config{})
	if err != nil {
		return err
	}
	cfg, host, err := checkpoint.Load(path)
	if err != nil {
		return err
	}
	_, refHost, err := checkpoint.Load(path)
	if err != nil {
		return err
	}
	tokDir := f.tokenizer
	if tokDir == "" {
		tokDir = path
	}
	tk, err := tokenizer.Load(tokDir)
	if err != nil {
		return fmt.Errorf("--tokenizer: %w", err)
	}
	var tokFiles []string
	for _, n := range []string{tokenizer.TokenizerFile, tokenizer.ConfigFile} {
		if fileExists(filepath.Join(tokDir, n)) {
			tokFiles = append(tokFiles, filepath.Join(tokDir, n))
		}
	}
	var prompts []native.RLPrompt
	var fromRoll []native.Rollout
	if f.fromRollouts != "" {
		if fromRoll, err = native.ReadRollouts(f.fromRollouts); err != nil {
			return err
		}
		logf("replaying %d rollouts from %s", len(fromRoll), f.fromRollouts)
	} else {
		file, err := os.Open(f.dataPath)
		if err != nil {
			return fmt.Errorf("--data_path: %w", err)
		}
		prompts, err = native.ReadRLPrompts(file, f.dataPath)
		file.Close()
		if err != nil {
			return err
		}
		logf("data: %d prompts", len(prompts))
	}
	name := native.RunName(f.saveWeight, cfg)
	resumePath := filepath.Join(f.saveDir, name+"_resume.safetensors")
	var resume *native.Resume
	if f.fromResume == 1 {
		if fileExists(resumePath) {
			if resume, err = native.LoadResume(resumePath); err != nil {
				return err
			}
			cfg, host = resume.Config, resume.Weights
			logf("resuming from %s", resumePath)
		} else {
			logf("no resume checkpoint at %s: starting afresh", resumePath)
		}
	}
	eng, release, err := openDevice(f.device, f.threads)
	if err != nil {
		return err
	}
	defer release()
	m, err := model.New(cfg, eng, host)
	if err != nil {
		return err
	}
	ref, err := model.New(cfg, eng, refHost)
	if err != nil {
		return err
	}
	opt := native.DefaultOptim()
	opt.Accum, opt.Clip = f.accum, f.clip
	tr, err := native.NewTrainer(m, opt)
	if err != nil {
		return err
	}
	if resume != nil {
		if err := tr.Restore(resume); err != nil {
			return err
		}
	}
	// MiniMind's T_max: optimizer steps of the run.
	iters := (len(prompts) + f.batch - 1) / f.batch
	if fromRoll != nil {
		iters = (len(fromRoll) + f.batch*f.G - 1) / (f.batch * f.G)
	}
	rc := native.RLConfig{Stage: stage, Epochs: f.epochs, BatchSize: f.batch, G: f.G, MaxSeqLen: f.seqLen, MaxGenLen: f.genLen,
		MaxTurns: 3, ThinkingRatio: f.thinking, Seed: f.seed, SaveInterval: f.saveInterval, LR: f.lr,
		Sample:    model.SampleOptions{Temperature: float32(f.temperature), TopK: f.topK, TopP: float32(f.topP), RepetitionPenalty: 1},
		Tokenizer: tk, Reward: rw, FromRollouts: fromRoll, SaveRollouts: f.saveRollouts,
		OutDir: filepath.Join(f.saveDir, name), CopyFiles: tokFiles, ResumePath: resumePath, Resume: resume,
		Progress: stderr, Log: func(s string) { logf("%s", s) }}
	if stage == "agent" {
		if rc.Tools, err = agentTools(); err != nil {
			return err
		}
	}
	if stage == "ppo" {
		tmax := int(math.Ceil(float64(iters*f.epochs*f.ppoIters*((f.batch+f.miniBatch-1)/f.miniBatch)) / float64(f.accum)))
		D := cfg.Hidden
		hw := make([]float32, D) // torch's Linear default: U(−1/√D, 1/√D)
		rng := newRand(f.seed)
		bound := 1 / math.Sqrt(float64(D))
		for i := range hw {
			hw[i] = float32((2*rng.Float64() - 1) * bound)
		}
		_, criticHost, err := checkpoint.Load(path)
		if err != nil {
			return err
		}
		critic, err := native.NewCritic(cfg, criticHost, eng, hw, float32((2*rng.Float64()-1)*bound), opt)
		if err != nil {
			return err
		}
		if resume != nil {
			if err := critic.LoadResume(resumePath + ".critic"); err != nil {
				return err
			}
		}
		rc.PPO = &native.PPOUpdate{Actor: tr, Critic: critic, Ref: ref, Eps: f.eps, KLCoef: f.klCoef, VFCoef: f.vfCoef,
			ClipValue: f.clipValue, Gamma: f.gamma, Lambda: f.lam, Iters: f.ppoIters, MiniBatch: f.miniBatch, EarlyStopKL: f.earlyStop,
			ActorSched: native.RLSchedule{LR: f.lr, TMax: tmax}, CriticSched: native.RLSchedule{LR: f.criticLR, TMax: tmax}}
	} else {
		kind, err := native.ParseLossKind(f.lossType)
		if err != nil {
			return fmt.Errorf("%w: %v", errUsage, err)
		}
		tmax := (iters + f.accum - 1) / f.accum * f.epochs
		rc.Group = &native.GroupUpdate{Policy: tr, Ref: ref, G: f.G, Sched: native.RLSchedule{LR: f.lr, TMax: tmax},
			Loss:  native.PolicyLoss{Kind: kind, Beta: f.beta, Eps: f.eps, EpsHigh: f.epsHigh},
			Agent: stage == "agent", MaxTotal: f.maxTotal}
	}
	logf("%s: %s, %.2fM parameters; %d prompts × %d completions a step, lr %g, on %s", stage, name,
		float64(cfg.ParamCount())/1e6, f.batch, f.G, f.lr, eng.Name())
	res, err := native.RunRL(ctx, prompts, rc)
	if errors.Is(err, native.ErrRLInterrupted) {
		logf("interrupted; continue with --from_resume 1")
		return nil
	}
	if err != nil {
		return err
	}
	var rwSum float64
	for _, s := range res.Steps {
		rwSum += s.Reward
	}
	mean := 0.0
	if len(res.Steps) > 0 {
		mean = rwSum / float64(len(res.Steps))
	}
	fmt.Fprintf(stdout, "saved %s (%d steps, mean reward %.4f, %s)\n", rc.OutDir, len(res.Steps), mean, res.Elapsed.Round(time.Second))
	return nil
}

func newRand(seed uint64) *rand.Rand { return rand.New(rand.NewPCG(seed, 3)) }
