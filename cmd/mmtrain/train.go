package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/cpu"
	"github.com/minimind-go/minimind/native"
)

// stageDefaults are MiniMind's defaults for a training stage.
type stageDefaults struct {
	dataPath, saveWeight, fromWeight string
	epochs, batch, accum, seqLen     int
	lr                               float64
}

func defaultsFor(stage string) stageDefaults {
	switch stage {
	case "sft":
		// train_full_sft.py: sft_mini_512.jsonl, from the pretrained weights, 16 × 1, 2 epochs.
		return stageDefaults{dataPath: "../dataset/sft_mini_512.jsonl", saveWeight: "full_sft", fromWeight: "pretrain",
			epochs: 2, batch: 16, accum: 1, seqLen: 512, lr: 1e-5}
	case "lora":
		// train_lora.py: lora_medical.jsonl from full_sft, 10 epochs of 32 × 340, lr 1e-4.
		return stageDefaults{dataPath: "../dataset/lora_medical.jsonl", saveWeight: "lora_medical", fromWeight: "full_sft",
			epochs: 10, batch: 32, accum: 1, seqLen: 340, lr: 1e-4}
	case "dpo":
		// train_dpo.py: dpo.jsonl from full_sft, 1 epoch of 4 pairs × 1024, lr 4e-8.
		return stageDefaults{dataPath: "../dataset/dpo.jsonl", saveWeight: "dpo", fromWeight: "full_sft",
			epochs: 1, batch: 4, accum: 1, seqLen: 1024, lr: 4e-8}
	case "distill":
		// train_distillation.py: sft_t2t_mini.jsonl, student from full_sft, 6 epochs of 32 × 340, lr 5e-6.
		return stageDefaults{dataPath: "../dataset/sft_t2t_mini.jsonl", saveWeight: "full_dist", fromWeight: "full_sft",
			epochs: 6, batch: 32, accum: 1, seqLen: 340, lr: 5e-6}
	case "reason":
		// train_reason.py: r1_mix_1024.jsonl from dpo, 1 epoch of 8 × 720, lr 1e-6.
		return stageDefaults{dataPath: "../dataset/r1_mix_1024.jsonl", saveWeight: "reason", fromWeight: "dpo",
			epochs: 1, batch: 8, accum: 1, seqLen: 720, lr: 1e-6}
	}
	// train_pretrain.py: pretrain_hq.jsonl, lr 5e-4, 32 × 8, 340 tokens.
	return stageDefaults{dataPath: "../dataset/pretrain_hq.jsonl", saveWeight: "pretrain", fromWeight: "none",
		epochs: 1, batch: 32, accum: 8, seqLen: 340, lr: 5e-4}
}

// trainFlags are the flags of the pretrain and sft stages.
type trainFlags struct {
	dataPath                        string
	epochs, batch, accum, seqLen    int
	lr, clip                        float64
	hidden, layers, useMoE          int
	fromWeight, saveDir, saveWeight string
	fromResume                      int
	saveInterval, logInterval       int
	preset, tokenizer, cacheDir     string
	shuffle, packing, strict        bool
	systemPrompts                   bool
	seed                            uint64
	threads, warmup                 int
	device                          string
	saveDType                       string
	set                             map[string]bool // flags given on the command line

	// stage-specific
	loraRank                  int
	loraAlpha                 float64
	loraTargets, fromLoRA     string
	beta                      float64
	refCache                  bool
	teacher                   string
	teacherHidden, teacherMoE int
	alpha, temperature        float64
	thinkWeight               float64
	thinkTags                 string
	normalizeWeights          bool
}

func parseTrainFlags(stage string, args []string, stderr io.Writer) (*trainFlags, error) {
	d := defaultsFor(stage)
	f := &trainFlags{set: map[string]bool{}}
	fs := flag.NewFlagSet("mmtrain "+stage, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.dataPath, "data_path", d.dataPath, "training data (jsonl)")
	fs.IntVar(&f.epochs, "epochs", d.epochs, "training epochs")
	fs.IntVar(&f.batch, "batch_size", d.batch, "rows per micro-batch")
	fs.Float64Var(&f.lr, "learning_rate", d.lr, "peak learning rate (cosine down to 10%)")
	fs.IntVar(&f.accum, "accumulation_steps", d.accum, "micro-batches per optimizer step")
	fs.Float64Var(&f.clip, "grad_clip", 1.0, "global gradient-norm clip (0: off)")
	fs.IntVar(&f.seqLen, "max_seq_len", d.seqLen, "tokens per row")
	fs.IntVar(&f.hidden, "hidden_size", 512, "hidden size (ignored with --from_weight or a resume)")
	fs.IntVar(&f.layers, "num_hidden_layers", 8, "layers (ignored with --from_weight or a resume)")
	fs.IntVar(&f.useMoE, "use_moe", 0, "1: mixture-of-experts layers")
	fs.StringVar(&f.fromWeight, "from_weight", d.fromWeight, `start weights: "none", a checkpoint folder or .pth file, or a save_weight name in save_dir`)
	fs.IntVar(&f.fromResume, "from_resume", 0, "1: continue from the resume checkpoint in save_dir when there is one")
	fs.StringVar(&f.saveDir, "save_dir", "../out", "output folder")
	saveName, logEvery, saveEvery := "save_weight", 100, 100
	if stage == "lora" {
		saveName, logEvery, saveEvery = "lora_name", 10, 1000
	}
	fs.StringVar(&f.saveWeight, saveName, d.saveWeight, "name prefix of the saved weights")
	fs.IntVar(&f.saveInterval, "save_interval", saveEvery, "save every N micro-steps (0: only at epoch ends)")
	fs.IntVar(&f.logInterval, "log_interval", logEvery, "log every N micro-steps")
	switch stage {
	case "lora":
		fs.IntVar(&f.loraRank, "lora_rank", 16, "adapter rank r (MiniMind: 16)")
		fs.Float64Var(&f.loraAlpha, "lora_alpha", 0, "scale adapters by lora_alpha/lora_rank (0: unscaled, as MiniMind)")
		fs.StringVar(&f.loraTargets, "lora_targets", "", "adapted projections, e.g. q_proj,k_proj,v_proj,o_proj,gate_proj,up_proj,down_proj (default: MiniMind's square layers)")
		fs.StringVar(&f.fromLoRA, "from_lora", "", "start from these adapters (.safetensors/.pth with MiniMind names, or a PEFT folder)")
	case "dpo":
		fs.Float64Var(&f.beta, "beta", 0.15, "DPO β")
		fs.BoolVar(&f.refCache, "ref_cache", false, "compute the reference log-probabilities once and cache them (one model per step instead of two)")
	case "distill":
		fs.StringVar(&f.teacher, "from_teacher_weight", "full_sft", "teacher checkpoint: a path, or a save_weight name in save_dir")
		fs.IntVar(&f.teacherHidden, "teacher_hidden_size", 0, "the teacher's hidden size, to find a save_weight name (0: the student's)")
		fs.IntVar(&f.teacherMoE, "teacher_use_moe", 1, "1: the teacher's name has _moe (MiniMind's MoE teacher)")
		fs.Float64Var(&f.alpha, "alpha", 0.5, "weight of the cross-entropy (1−alpha on the distillation KL)")
		fs.Float64Var(&f.temperature, "temperature", 1.5, "distillation temperature T")
	case "reason":
		fs.Float64Var(&f.thinkWeight, "think_weight", 10, "loss weight of the thinking-tag tokens (MiniMind: 10)")
		fs.StringVar(&f.thinkTags, "think_tags", "<think>,</think>,<answer>,</answer>", "comma-separated tags whose token ids get think_weight")
		fs.BoolVar(&f.normalizeWeights, "normalize_weights", false, "divide by the weights' sum instead of the token count (MiniMind divides by the count)")
	}
	fs.StringVar(&f.preset, "preset", "", "architecture preset (overrides the default minimind2-small shape): "+strings.Join(model.PresetNames(), ", "))
	fs.StringVar(&f.tokenizer, "tokenizer", "", "tokenizer folder (default: the --from_weight folder, else ../model)")
	fs.StringVar(&f.cacheDir, "cache_dir", "", "token cache folder (default: save_dir/cache)")
	fs.BoolVar(&f.shuffle, "shuffle", true, "shuffle samples every epoch (seeded by seed and epoch)")
	if stage == "pretrain" || stage == "sft" || stage == "lora" {
		fs.BoolVar(&f.packing, "packing", false, "pack several samples per row (attention stays within a sample)")
	}
	fs.BoolVar(&f.strict, "strict", false, "stop at the first malformed jsonl line instead of skipping it")
	if stage == "sft" || stage == "lora" {
		fs.BoolVar(&f.systemPrompts, "system_prompts", false, "prepend a random system prompt to 20% of samples (as MiniMind)")
	}
	fs.Uint64Var(&f.seed, "seed", 42, "seed of initial weights and data order")
	fs.IntVar(&f.threads, "threads", 0, "CPU threads (0: all cores)")
	fs.StringVar(&f.device, "device", "cpu", "training engine: cpu, or cuda in a binary built with -tags cuda")
	fs.IntVar(&f.warmup, "warmup_iters", 0, "linear learning-rate warm-up micro-steps (not in MiniMind)")
	fs.StringVar(&f.saveDType, "save_dtype", "fp32", "saved weight type: fp32 or fp16")
	if err := parseFlags(fs, args); err != nil {
		return nil, err
	}
	fs.Visit(func(fl *flag.Flag) { f.set[fl.Name] = true })
	switch {
	case f.epochs < 1 || f.batch < 1 || f.accum < 1:
		return nil, fmt.Errorf("%w: epochs, batch_size and accumulation_steps must be ≥ 1", errUsage)
	case f.seqLen < 3:
		return nil, fmt.Errorf("%w: max_seq_len must be ≥ 3", errUsage)
	case !(f.lr >= 0) || !(f.clip >= 0):
		return nil, fmt.Errorf("%w: learning_rate and grad_clip must be ≥ 0", errUsage)
	case f.useMoE != 0 && f.useMoE != 1, f.fromResume != 0 && f.fromResume != 1:
		return nil, fmt.Errorf("%w: use_moe and from_resume take 0 or 1", errUsage)
	case f.device != "cpu" && f.device != "cuda":
		return nil, fmt.Errorf("%w: --device must be cpu or cuda, got %q", errUsage, f.device)
	case f.saveDType != "fp32" && f.saveDType != "fp16":
		return nil, fmt.Errorf("%w: save_dtype must be fp32 or fp16", errUsage)
	case f.saveInterval < 0 || f.logInterval < 0 || f.warmup < 0:
		return nil, fmt.Errorf("%w: intervals must be ≥ 0", errUsage)
	}
	return f, nil
}

// architecture returns the model shape asked for on the command line: the
// preset (minimind2-small by default) resized by --hidden_size,
// --num_hidden_layers and --use_moe as MiniMind's config does.
func (f *trainFlags) architecture() (model.Config, error) {
	name := f.preset
	if name == "" {
		name = "minimind2-small"
	}
	c, err := model.Preset(name)
	if err != nil {
		return model.Config{}, fmt.Errorf("%w: %v", errUsage, err)
	}
	if f.preset == "" || f.set["hidden_size"] {
		c.Hidden = f.hidden
		c.HeadDim = c.Hidden / c.Heads
		if c.Family == model.MiniMind3 {
			c.FFN = model.MiniMind3FFN(c.Hidden)
		} else {
			c.FFN = model.MiniMind2FFN(c.Hidden)
		}
	}
	if f.preset == "" || f.set["num_hidden_layers"] {
		c.Layers = f.layers
	}
	if f.preset == "" || f.set["use_moe"] {
		moe := f.useMoE == 1
		switch {
		case moe && !c.UseMoE && c.Family == model.MiniMind3:
			c.UseMoE, c.Experts, c.TopK, c.Shared = true, 4, 1, 0
		case moe && !c.UseMoE:
			c.UseMoE, c.Experts, c.TopK, c.Shared = true, 4, 2, 1
		case !moe:
			c.UseMoE, c.Experts, c.TopK, c.Shared = false, 0, 0, 0
		}
	}
	if err := c.Validate(); err != nil {
		return model.Config{}, fmt.Errorf("%w: %v", errUsage, err)
	}
	return c, nil
}

func train(ctx context.Context, stage string, args []string, stdout, stderr io.Writer) error {
	f, err := parseTrainFlags(stage, args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	sc, release, err := f.stageConfig(stage, stderr)
	if err != nil {
		return err
	}
	defer release()
	return runStage(ctx, sc, f.threads, stdout, stderr)
}

// stageConfig maps the flags onto the library's stage configuration and
// opens the device.
func (f *trainFlags) stageConfig(stage string, stderr io.Writer) (native.StageConfig, func(), error) {
	cfg, err := f.architecture()
	if err != nil {
		return native.StageConfig{}, nil, err
	}
	eng, release, err := openDevice(f.device, f.threads)
	if err != nil {
		return native.StageConfig{}, nil, err
	}
	sc := native.StageConfig{Stage: native.Stage(stage), DataPath: f.dataPath, Epochs: f.epochs, BatchSize: f.batch,
		Accum: f.accum, MaxSeqLen: f.seqLen, LR: f.lr, Clip: f.clip, Arch: cfg, FromWeight: f.fromWeight,
		FromResume: f.fromResume == 1, SaveDir: f.saveDir, SaveWeight: f.saveWeight, SaveInterval: f.saveInterval,
		LogInterval: f.logInterval, Tokenizer: f.tokenizer, CacheDir: f.cacheDir, Shuffle: f.shuffle, Packing: f.packing,
		Strict: f.strict, SystemPrompts: f.systemPrompts, Seed: f.seed, Threads: f.threads, Warmup: f.warmup,
		SaveDType: map[string]string{"fp32": "F32", "fp16": "F16"}[f.saveDType], Engine: eng, Progress: stderr,
		LoRA: native.LoRAConfig{Rank: f.loraRank, Alpha: f.loraAlpha, From: f.fromLoRA},
		DPO:  native.DPOConfig{Beta: f.beta, RefCache: f.refCache},
		Distill: native.DistillConfig{Teacher: f.teacher, TeacherHidden: f.teacherHidden, TeacherMoE: f.teacherMoE == 1,
			Alpha: f.alpha, Temp: f.temperature},
		Reason: native.ReasonConfig{Weight: f.thinkWeight, NormalizeWeights: f.normalizeWeights},
	}
	if f.loraTargets != "" {
		sc.LoRA.Targets = strings.Split(f.loraTargets, ",")
	}
	if f.thinkTags != "" {
		sc.Reason.Tags = strings.Split(f.thinkTags, ",")
	}
	sc.Log = func(s string) { fmt.Fprintf(stderr, "%s %s\n", time.Now().Format("15:04:05"), s) }
	return sc, release, nil
}

// runStage runs a stage and prints its summary.
func runStage(ctx context.Context, sc native.StageConfig, threads int, stdout, stderr io.Writer) error {
	logf := func(format string, a ...any) { sc.Log(fmt.Sprintf(format, a...)) }
	logf("%s: batch %d × accumulation %d × %d tokens, lr %g, %d epoch(s), on %s (%d CPU threads)",
		sc.Stage, sc.BatchSize, sc.Accum, sc.MaxSeqLen, sc.LR, sc.Epochs, sc.Engine.Name(), cpu.New(threads).Threads())
	res, err := native.TrainStage(ctx, sc)
	if errors.Is(err, native.ErrInterrupted) {
		logf("interrupted; continue with --from_resume 1")
		return nil
	}
	if err != nil {
		return err
	}
	tps := 0.0
	if s := res.Run.Elapsed.Seconds(); s > 0 {
		tps = float64(res.Run.Tokens) / s
	}
	out := res.OutDir
	if res.Adapters != "" {
		out = res.Adapters + ".safetensors (also .pth and _peft/)"
	}
	fmt.Fprintf(stdout, "saved %s (final loss %.4f, %d micro-steps, %.0f tokens/s)\n",
		out, lastLoss(res.Run.Losses), len(res.Run.Losses), tps)
	return nil
}

func lastLoss(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	return xs[len(xs)-1]
}
