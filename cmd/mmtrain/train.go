package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/checkpoint"
	"github.com/minimind-go/minimind/model/cpu"
	"github.com/minimind-go/minimind/native"
	"github.com/minimind-go/minimind/progress"
	"github.com/minimind-go/minimind/tokenizer"
)

// stageDefaults are MiniMind's defaults for a training stage.
type stageDefaults struct {
	dataPath, saveWeight, fromWeight string
	epochs, batch, accum, seqLen     int
	lr                               float64
}

func defaultsFor(stage string) stageDefaults {
	if stage == "sft" {
		// train_full_sft.py: sft_mini_512.jsonl, from the pretrained weights, 16 × 1, 2 epochs.
		return stageDefaults{dataPath: "../dataset/sft_mini_512.jsonl", saveWeight: "full_sft", fromWeight: "pretrain",
			epochs: 2, batch: 16, accum: 1, seqLen: 512, lr: 1e-5}
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
	fs.StringVar(&f.saveWeight, "save_weight", d.saveWeight, "name prefix of the saved weights")
	fs.IntVar(&f.saveInterval, "save_interval", 100, "save every N micro-steps (0: only at epoch ends)")
	fs.IntVar(&f.logInterval, "log_interval", 100, "log every N micro-steps")
	fs.StringVar(&f.preset, "preset", "", "architecture preset (overrides the default minimind2-small shape): "+strings.Join(model.PresetNames(), ", "))
	fs.StringVar(&f.tokenizer, "tokenizer", "", "tokenizer folder (default: the --from_weight folder, else ../model)")
	fs.StringVar(&f.cacheDir, "cache_dir", "", "token cache folder (default: save_dir/cache)")
	fs.BoolVar(&f.shuffle, "shuffle", true, "shuffle samples every epoch (seeded by seed and epoch)")
	fs.BoolVar(&f.packing, "packing", false, "pack several samples per row (attention stays within a sample)")
	fs.BoolVar(&f.strict, "strict", false, "stop at the first malformed jsonl line instead of skipping it")
	if stage == "sft" {
		fs.BoolVar(&f.systemPrompts, "system_prompts", false, "prepend a random system prompt to 20% of samples (as MiniMind)")
	}
	fs.Uint64Var(&f.seed, "seed", 42, "seed of initial weights and data order")
	fs.IntVar(&f.threads, "threads", 0, "CPU threads (0: all cores)")
	fs.StringVar(&f.device, "device", "cpu", "training engine: cpu, or cuda in a binary built with -tags cuda")
	fs.IntVar(&f.warmup, "warmup_iters", 0, "linear learning-rate warm-up micro-steps (not in MiniMind)")
	fs.StringVar(&f.saveDType, "save_dtype", "fp32", "saved weight type: fp32 or fp16")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("%w: unexpected arguments %q", errUsage, fs.Args())
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

// runName is MiniMind's checkpoint name: {save_weight}_{hidden}[_moe].
func runName(prefix string, c model.Config) string {
	s := fmt.Sprintf("%s_%d", prefix, c.Hidden)
	if c.UseMoE {
		s += "_moe"
	}
	return s
}

// findWeights resolves --from_weight: a path, or a save_weight name looked
// up in save_dir as MiniMind does ({name}_{hidden}[_moe], a folder or a
// .pth file), else as the only {name}_* checkpoint there.
func findWeights(from, saveDir string, c model.Config) (string, error) {
	if _, err := os.Stat(from); err == nil {
		return from, nil
	}
	base := filepath.Join(saveDir, runName(from, c))
	for _, p := range []string{base, base + ".pth"} {
		if _, err := os.Stat(p); err == nil {
			return p, nil
		}
	}
	matches, _ := filepath.Glob(filepath.Join(saveDir, from+"_*"))
	var found []string
	for _, m := range matches {
		st, err := os.Stat(m)
		if err != nil {
			continue
		}
		if (st.IsDir() && fileExists(filepath.Join(m, checkpoint.ConfigFile))) || strings.HasSuffix(m, ".pth") {
			found = append(found, m)
		}
	}
	if len(found) == 1 {
		return found[0], nil
	}
	if len(found) > 1 {
		return "", fmt.Errorf("--from_weight %q: several checkpoints match (%s); name one, or give --hidden_size", from, strings.Join(found, ", "))
	}
	return "", fmt.Errorf("--from_weight %q: no such file, and no checkpoint %s or %s.pth", from, base, base)
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func train(ctx context.Context, stage string, args []string, stdout, stderr io.Writer) error {
	f, err := parseTrainFlags(stage, args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return nil
	}
	if err != nil {
		return err
	}
	logf := func(format string, a ...any) {
		fmt.Fprintf(stderr, "%s %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, a...))
	}
	cfg, err := f.architecture()
	if err != nil {
		return err
	}

	// Weights: a resume checkpoint, --from_weight, or a fresh initialisation.
	var resume *native.Resume
	resumePath := filepath.Join(f.saveDir, runName(f.saveWeight, cfg)+"_resume.safetensors")
	var host *model.Weights
	weightDir := ""
	if f.fromResume == 1 {
		if _, err := os.Stat(resumePath); err == nil {
			if resume, err = native.LoadResume(resumePath); err != nil {
				return err
			}
			cfg, host = resume.Config, resume.Weights
			logf("resuming from %s", resumePath)
		} else {
			logf("no resume checkpoint at %s: starting afresh", resumePath)
		}
	}
	if resume == nil {
		if f.fromWeight != "" && f.fromWeight != "none" {
			path, err := findWeights(f.fromWeight, f.saveDir, cfg)
			if err != nil {
				return err
			}
			if cfg, host, err = checkpoint.Load(path); err != nil {
				return err
			}
			if st, err := os.Stat(path); err == nil && st.IsDir() {
				weightDir = path
			}
			logf("starting from %s", path)
		} else {
			host = model.InitWeights(cfg, f.seed)
		}
	}
	name := runName(f.saveWeight, cfg)
	resumePath = filepath.Join(f.saveDir, name+"_resume.safetensors")

	tokDir := f.tokenizer
	if tokDir == "" {
		tokDir = filepath.Join("..", "model")
		if weightDir != "" {
			if _, err := os.Stat(filepath.Join(weightDir, tokenizer.TokenizerFile)); err == nil {
				tokDir = weightDir
			}
		}
	}
	tk, err := tokenizer.Load(tokDir)
	if err != nil {
		return fmt.Errorf("--tokenizer: %w", err)
	}
	tokFiles := []string{filepath.Join(tokDir, tokenizer.TokenizerFile)}
	if _, err := os.Stat(filepath.Join(tokDir, tokenizer.ConfigFile)); err == nil {
		tokFiles = append(tokFiles, filepath.Join(tokDir, tokenizer.ConfigFile))
	}
	tokHash, err := native.HashFiles(tokFiles...)
	if err != nil {
		return err
	}
	if tk.VocabSize() > cfg.Vocab {
		return fmt.Errorf("the tokenizer has %d ids but the model only %d", tk.VocabSize(), cfg.Vocab)
	}

	dc := native.DataConfig{Mode: native.Mode(stage), MaxSeqLen: f.seqLen, Vocab: cfg.Vocab,
		BOS: cfg.BOS, EOS: cfg.EOS, PAD: cfg.PAD, SystemPrompts: f.systemPrompts, Seed: f.seed}
	for which, dst := range map[string]*int32{"bos": &dc.BOS, "eos": &dc.EOS, "pad": &dc.PAD} {
		if id, ok := tk.SpecialID(which); ok {
			*dst = id
		}
	}
	ntok := native.FromTokenizer(tk)
	if stage == "sft" { // a tokenizer without a usable template would make every line "malformed"
		probe := json.RawMessage(`[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]`)
		if _, err := ntok.RenderChat(probe, nil); err != nil {
			return fmt.Errorf("sft: %s: %w", tokDir, err)
		}
	}
	proc, err := native.NewProcessor(dc, ntok)
	if err != nil {
		return err
	}
	cacheDir := f.cacheDir
	if cacheDir == "" {
		cacheDir = filepath.Join(f.saveDir, "cache")
	}
	var tbar *progress.Bar
	totalMB := 1
	if st, err := os.Stat(f.dataPath); err == nil {
		totalMB = max(1, int((st.Size()+1<<20-1)>>20))
		tbar = progress.New(stderr, totalMB, progress.Options{Label: "tokenize (MB)"})
	}
	tokenized := false
	data, err := native.LoadDataset(ctx, f.dataPath, proc, native.LoadOptions{
		CacheDir: cacheDir, TokenizerHash: tokHash, Log: func(s string) { logf("%s", s) },
		BuildOptions: native.BuildOptions{Workers: f.threads, Strict: f.strict, Progress: func(n int64) {
			if tbar != nil {
				tbar.Update(int(n>>20), "")
				tokenized = true
			}
		}},
	})
	if tokenized && err == nil {
		tbar.Update(totalMB, "")
		tbar.Finish("")
	}
	if err != nil {
		return err
	}
	defer data.Close()
	logf("data: %d samples, %d tokens (%d blank and %d malformed lines skipped)",
		data.Stats.Samples, data.Stats.Tokens, data.Stats.Blank, data.Stats.Bad)

	eng, release, err := openDevice(f.device, f.threads)
	if err != nil {
		return err
	}
	defer release()
	m, err := model.New(cfg, eng, host)
	if err != nil {
		return err
	}
	opt := native.DefaultOptim()
	opt.Accum, opt.Clip = f.accum, f.clip
	tr, err := native.NewTrainer(m, opt)
	if err != nil {
		return err
	}
	rc := native.RunConfig{Mode: native.Mode(stage), Epochs: f.epochs, BatchSize: f.batch, LR: f.lr, Warmup: f.warmup,
		Shuffle: f.shuffle, Seed: f.seed, Packing: f.packing, MaxSeqLen: f.seqLen,
		LogInterval: f.logInterval, SaveInterval: f.saveInterval,
		OutDir: filepath.Join(f.saveDir, name), SaveDType: map[string]string{"fp32": "F32", "fp16": "F16"}[f.saveDType],
		CopyFiles: tokFiles, ResumePath: resumePath, DataKey: data.Key.Hash(), Progress: stderr,
		Log: func(s string) { logf("%s", s) }}
	if resume != nil {
		if err := tr.Restore(resume); err != nil {
			return err
		}
		rc.Resume = &resume.State
	}
	logf("%s: %s, %.2fM parameters, %d layers, hidden %d%s; batch %d × accumulation %d × %d tokens, lr %g, %d epoch(s), on %s (%d CPU threads)",
		stage, name, float64(cfg.ParamCount())/1e6, cfg.Layers, cfg.Hidden, map[bool]string{true: ", MoE"}[cfg.UseMoE],
		f.batch, f.accum, f.seqLen, f.lr, f.epochs, eng.Name(), cpu.New(f.threads).Threads())
	res, err := native.Run(ctx, tr, data, rc)
	if errors.Is(err, native.ErrInterrupted) {
		logf("interrupted; continue with --from_resume 1")
		return nil
	}
	if err != nil {
		return err
	}
	tps := 0.0
	if s := res.Elapsed.Seconds(); s > 0 {
		tps = float64(res.Tokens) / s
	}
	fmt.Fprintf(stdout, "saved %s (final loss %.4f, %d micro-steps, %.0f tokens/s)\n",
		rc.OutDir, lastLoss(res.Losses), len(res.Losses), tps)
	return nil
}

func lastLoss(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	return xs[len(xs)-1]
}
