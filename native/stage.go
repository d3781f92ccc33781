package native

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/checkpoint"
	"github.com/minimind-go/minimind/progress"
	"github.com/minimind-go/minimind/tokenizer"
)

// Stage names one of MiniMind's training stages.
type Stage string

// The stages TrainStage runs.
const (
	StagePretrain Stage = "pretrain" // train_pretrain.py
	StageSFT      Stage = "sft"      // train_full_sft.py
	StageLoRA     Stage = "lora"     // train_lora.py
	StageDPO      Stage = "dpo"      // train_dpo.py
	StageDistill  Stage = "distill"  // train_distillation.py
	StageReason   Stage = "reason"   // train_reason.py
)

// Stages lists every stage.
var Stages = []Stage{StagePretrain, StageSFT, StageLoRA, StageDPO, StageDistill, StageReason}

// LoRAConfig holds the LoRA stage's settings.
type LoRAConfig struct {
	Rank    int      // MiniMind: 16
	Alpha   float64  // 0: unscaled (MiniMind); else the output is scaled by Alpha/Rank
	Targets []string // empty: MiniMind's square layers; else model.LoRATargets names
	// From starts from these adapters (a .safetensors/.pth file with
	// MiniMind names, or a PEFT folder) instead of a fresh initialisation.
	From string
}

// DPOConfig holds the DPO stage's settings.
type DPOConfig struct {
	Beta float64 // MiniMind: 0.15
	// RefCache computes the reference log-probabilities once, before
	// training, and stores them beside the checkpoints, so each step runs
	// one model instead of two.
	RefCache bool
}

// DistillConfig holds the distillation stage's settings.
type DistillConfig struct {
	// Teacher is a checkpoint (path or save_weight name in SaveDir) with
	// the student's vocabulary (a larger one is cut to the student's).
	Teacher string
	// TeacherHidden and TeacherMoE complete a save_weight name
	// ({Teacher}_{hidden}[_moe]); 0 hidden: the student's.
	TeacherHidden int
	TeacherMoE    bool
	Alpha, Temp   float64 // MiniMind: 0.5, 1.5
}

// ReasonConfig holds the reasoning SFT stage's settings.
type ReasonConfig struct {
	// Tags are the texts whose token ids get Weight in the loss (MiniMind:
	// <think>, </think>, <answer>, </answer>; every id of their encodings).
	Tags   []string
	Weight float64 // MiniMind: 10
	// NormalizeWeights divides by the weights' sum instead of the number
	// of labelled tokens (MiniMind divides by the count).
	NormalizeWeights bool
}

// StageConfig describes one training stage run the way MiniMind's trainer
// scripts take it (the command line maps onto it one to one).
type StageConfig struct {
	Stage     Stage
	DataPath  string
	Epochs    int
	BatchSize int // rows (DPO: pairs) per micro-batch
	Accum     int
	MaxSeqLen int
	LR, Clip  float64
	// Arch is the shape of a fresh model (FromWeight "none") and the
	// hidden size used to find save_weight names in SaveDir.
	Arch       model.Config
	FromWeight string // "none"/"" (fresh), a checkpoint path, or a save_weight name in SaveDir
	FromResume bool   // continue from SaveDir's resume checkpoint when there is one
	SaveDir    string
	SaveWeight string // name prefix: the output is SaveDir/{SaveWeight}_{hidden}[_moe]
	// SaveInterval and LogInterval are in micro-steps (0: epoch ends only).
	SaveInterval, LogInterval int
	Tokenizer                 string // folder; "": the FromWeight folder's, else ../model
	CacheDir                  string // token caches; "": SaveDir/cache
	Shuffle, Packing, Strict  bool
	SystemPrompts             bool
	Seed                      uint64
	Threads, Warmup           int
	SaveDType                 string // "F32" (default) or "F16"
	// Engine runs the models (the CPU engine, or CUDA).
	Engine model.Engine

	LoRA    LoRAConfig
	DPO     DPOConfig
	Distill DistillConfig
	Reason  ReasonConfig

	Progress io.Writer        // progress bars (nil: none)
	Log      func(msg string) // one-line messages (nil: none)
	MaxSteps int              // stop after that many micro-steps (tests, benchmarks)
}

// StageResult reports a finished stage.
type StageResult struct {
	Run    *RunResult
	Name   string // {SaveWeight}_{hidden}[_moe]
	OutDir string // SaveDir/Name
	// Adapters is the adapter file base (LoRA): Adapters+".safetensors",
	// ".pth" and "_peft".
	Adapters string
	Config   model.Config
	Params   int // trained parameters
}

// RunName is MiniMind's checkpoint name: {prefix}_{hidden}[_moe].
func RunName(prefix string, c model.Config) string {
	s := fmt.Sprintf("%s_%d", prefix, c.Hidden)
	if c.UseMoE {
		s += "_moe"
	}
	return s
}

// FindWeights resolves a --from_weight value: a path, or a save_weight
// name looked up in saveDir as MiniMind does ({name}_{hidden}[_moe], a
// folder or a .pth file), else as the only {name}_* checkpoint there.
func FindWeights(from, saveDir string, c model.Config) (string, error) {
	if _, err := os.Stat(from); err == nil {
		return from, nil
	}
	base := filepath.Join(saveDir, RunName(from, c))
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
		if _, err := os.Stat(filepath.Join(m, checkpoint.ConfigFile)); (st.IsDir() && err == nil) || strings.HasSuffix(m, ".pth") {
			found = append(found, m)
		}
	}
	if len(found) == 1 {
		return found[0], nil
	}
	if len(found) > 1 {
		return "", fmt.Errorf("%q: several checkpoints match (%s); name one, or give the hidden size", from, strings.Join(found, ", "))
	}
	return "", fmt.Errorf("%q: no such file, and no checkpoint %s or %s.pth", from, base, base)
}

// loadWeights resolves and loads a checkpoint; dir is its folder (or "").
func loadWeights(from, saveDir string, c model.Config) (cfg model.Config, w *model.Weights, path, dir string, err error) {
	path, err = FindWeights(from, saveDir, c)
	if err != nil {
		return
	}
	if cfg, w, err = checkpoint.Load(path); err != nil {
		return
	}
	if st, e := os.Stat(path); e == nil && st.IsDir() {
		dir = path
	}
	return
}

// TrainStage runs one training stage end to end: weights (fresh, from a
// checkpoint or a resume checkpoint), tokenizer, the token cache of the data,
// the stage's models (reference, teacher) and objective, then Run with
// checkpoints, train_log.jsonl and loss.svg in SaveDir/{name}. On
// cancellation it writes a resume checkpoint and returns ErrInterrupted.
func TrainStage(ctx context.Context, sc StageConfig) (*StageResult, error) {
	logf := func(format string, a ...any) {
		if sc.Log != nil {
			sc.Log(fmt.Sprintf(format, a...))
		}
	}
	if !slices.Contains(Stages, sc.Stage) {
		return nil, fmt.Errorf("native: unknown stage %q", sc.Stage)
	}
	if sc.Engine == nil {
		return nil, errors.New("native: no engine")
	}
	if sc.Packing && (sc.Stage == StageDPO || sc.Stage == StageDistill || sc.Stage == StageReason) {
		return nil, fmt.Errorf("native: %s does not support packing", sc.Stage)
	}
	cfg := sc.Arch
	fromNone := sc.FromWeight == "" || sc.FromWeight == "none"
	if fromNone && sc.Stage != StagePretrain && sc.Stage != StageSFT {
		return nil, fmt.Errorf("native: %s starts from trained weights: give --from_weight", sc.Stage)
	}

	// Weights: FromWeight (as MiniMind, loaded also when resuming: it
	// fixes the shape and the resume file's name), or a fresh
	// initialisation; then the resume checkpoint, when asked for and present.
	var resume *Resume
	var host *model.Weights
	weightDir, weightPath := "", ""
	if !fromNone {
		c, w, path, dir, err := loadWeights(sc.FromWeight, sc.SaveDir, cfg)
		if err != nil {
			return nil, fmt.Errorf("--from_weight %w", err)
		}
		cfg, host, weightDir, weightPath = c, w, dir, path
	}
	if sc.FromResume {
		p := filepath.Join(sc.SaveDir, RunName(sc.SaveWeight, cfg)+"_resume.safetensors")
		if _, err := os.Stat(p); err == nil {
			if resume, err = LoadResume(p); err != nil {
				return nil, err
			}
			cfg, host = resume.Config, resume.Weights
			logf("resuming from %s", p)
		} else {
			logf("no resume checkpoint at %s: starting afresh", p)
		}
	}
	if resume == nil {
		if fromNone {
			host = model.InitWeights(cfg, sc.Seed)
		} else {
			logf("starting from %s", weightPath)
		}
	}
	name := RunName(sc.SaveWeight, cfg)
	resumePath := filepath.Join(sc.SaveDir, name+"_resume.safetensors")

	tk, tokFiles, tokHash, err := loadTokenizer(sc.Tokenizer, weightDir)
	if err != nil {
		return nil, err
	}
	if tk.VocabSize() > cfg.Vocab {
		return nil, fmt.Errorf("native: the tokenizer has %d ids but the model only %d", tk.VocabSize(), cfg.Vocab)
	}
	mode := SFT
	switch sc.Stage {
	case StagePretrain:
		mode = Pretrain
	case StageDPO:
		mode = DPOData
	}
	dc := DataConfig{Mode: mode, MaxSeqLen: sc.MaxSeqLen, Vocab: cfg.Vocab, BOS: cfg.BOS, EOS: cfg.EOS, PAD: cfg.PAD,
		SystemPrompts: sc.SystemPrompts && mode == SFT, Seed: sc.Seed}
	for which, dst := range map[string]*int32{"bos": &dc.BOS, "eos": &dc.EOS, "pad": &dc.PAD} {
		if id, ok := tk.SpecialID(which); ok {
			*dst = id
		}
	}
	ntok := FromTokenizer(tk)
	if mode != Pretrain { // a tokenizer without a usable template would make every line "malformed"
		probe := json.RawMessage(`[{"role":"user","content":"hi"},{"role":"assistant","content":"hello"}]`)
		if _, err := ntok.RenderChat(probe, nil); err != nil {
			return nil, fmt.Errorf("native: %s: tokenizer: %w", sc.Stage, err)
		}
	}
	proc, err := NewProcessor(dc, ntok)
	if err != nil {
		return nil, err
	}
	cacheDir := sc.CacheDir
	if cacheDir == "" {
		cacheDir = filepath.Join(sc.SaveDir, "cache")
	}
	data, err := loadStageData(ctx, sc, proc, cacheDir, tokHash, logf)
	if err != nil {
		return nil, err
	}
	defer data.Close()
	logf("data: %d samples, %d tokens (%d blank and %d malformed lines skipped)",
		data.Stats.Samples, data.Stats.Tokens, data.Stats.Blank, data.Stats.Bad)

	eng := sc.Engine
	m, err := model.New(cfg, eng, host)
	if err != nil {
		return nil, err
	}
	opt := DefaultOptim()
	opt.Accum, opt.Clip = sc.Accum, sc.Clip
	res := &StageResult{Name: name, OutDir: filepath.Join(sc.SaveDir, name), Config: cfg}

	var tr *Trainer
	switch sc.Stage {
	case StageLoRA:
		if err := attachStageLoRA(m, sc.LoRA, resume, sc.Seed, logf); err != nil {
			return nil, err
		}
		if tr, err = NewLoRATrainer(m, opt); err != nil {
			return nil, err
		}
		res.Adapters = AdapterBase(res.OutDir)
		res.Params = m.LoRA.ParamCount()
		logf("lora: rank %d on %s (%d adapters, %d trainable parameters = %.2f%% of %d)", m.LoRA.Rank,
			strings.Join(m.LoRA.Targets(), ","), len(m.LoRA.Adapters), res.Params,
			100*float64(res.Params)/float64(cfg.ParamCount()), cfg.ParamCount())
	default:
		if tr, err = NewTrainer(m, opt); err != nil {
			return nil, err
		}
		res.Params = cfg.ParamCount()
	}

	layout := func(e int) (batcher, error) {
		return NewEpoch(data, e, EpochOptions{Shuffle: sc.Shuffle, Seed: sc.Seed, Packing: sc.Packing, T: sc.MaxSeqLen})
	}
	switch sc.Stage {
	case StageDPO:
		layout = func(e int) (batcher, error) { return NewPairEpoch(data, e, sc.Shuffle, sc.Seed, sc.MaxSeqLen) }
		obj := &DPO{Beta: sc.DPO.Beta}
		// The reference is the starting checkpoint (also when resuming).
		rcfg, rw, _, _, err := loadWeights(sc.FromWeight, sc.SaveDir, cfg)
		if err != nil {
			return nil, fmt.Errorf("dpo: reference: %w", err)
		}
		ref, err := model.New(rcfg, eng, rw)
		if err != nil {
			return nil, err
		}
		if sc.DPO.RefCache {
			path := filepath.Join(sc.SaveDir, name+"_refcache.json")
			key := data.Key.Hash() + "/" + weightsHash(rw, rcfg) + fmt.Sprintf("/%d", sc.MaxSeqLen)
			if obj.Cache, err = buildRefCache(ctx, ref, data, sc, path, key, logf); err != nil {
				return nil, err
			}
		} else {
			obj.Ref = ref
		}
		tr.Objective = obj
		logf("dpo: β %g, reference %s%s", obj.Beta, weightPath, map[bool]string{true: " (cached log-probabilities)"}[sc.DPO.RefCache])
	case StageDistill:
		if sc.Distill.Teacher == "" {
			return nil, errors.New("distill: no teacher (--teacher_weight)")
		}
		tc := cfg
		if sc.Distill.TeacherHidden > 0 {
			tc.Hidden = sc.Distill.TeacherHidden
		}
		tc.UseMoE = sc.Distill.TeacherMoE
		tcfg, tw, tpath, _, err := loadWeights(sc.Distill.Teacher, sc.SaveDir, tc)
		if err != nil {
			return nil, fmt.Errorf("distill: teacher %w", err)
		}
		if tcfg.Vocab < cfg.Vocab {
			return nil, fmt.Errorf("distill: the teacher %s has %d ids, the student %d", tpath, tcfg.Vocab, cfg.Vocab)
		}
		teacher, err := model.New(tcfg, eng, tw)
		if err != nil {
			return nil, err
		}
		tr.Objective = &Distill{Teacher: teacher, Alpha: sc.Distill.Alpha, Temp: sc.Distill.Temp}
		logf("distill: teacher %s (%.2fM parameters%s), α %g, T %g", tpath, float64(tcfg.ParamCount())/1e6,
			map[bool]string{true: ", MoE"}[tcfg.UseMoE], sc.Distill.Alpha, sc.Distill.Temp)
	case StageReason:
		var ids []int32
		for _, tag := range sc.Reason.Tags {
			for _, id := range tk.Encode(tag) {
				if !slices.Contains(ids, id) {
					ids = append(ids, id)
				}
			}
		}
		if len(ids) == 0 {
			return nil, errors.New("reason: the tags encode to no tokens")
		}
		tr.Objective = &Reason{TagIDs: ids, Weight: sc.Reason.Weight, NormalizeWeights: sc.Reason.NormalizeWeights}
		logf("reason: weight %g on the ids %v of %s", sc.Reason.Weight, ids, strings.Join(sc.Reason.Tags, " "))
	}

	rc := RunConfig{Mode: Mode(sc.Stage), Epochs: sc.Epochs, BatchSize: sc.BatchSize, LR: sc.LR, Warmup: sc.Warmup,
		Shuffle: sc.Shuffle, Seed: sc.Seed, Packing: sc.Packing, MaxSeqLen: sc.MaxSeqLen,
		LogInterval: sc.LogInterval, SaveInterval: sc.SaveInterval, OutDir: res.OutDir, SaveDType: sc.SaveDType,
		CopyFiles: tokFiles, ResumePath: resumePath, DataKey: data.Key.Hash(), Progress: sc.Progress, Log: sc.Log,
		MaxSteps: sc.MaxSteps}
	if resume != nil {
		if err := tr.Restore(resume); err != nil {
			return nil, err
		}
		rc.Resume = &resume.State
	}
	run, err := runLoop(ctx, tr, data, layout, rc)
	res.Run = run
	return res, err
}

// attachStageLoRA adds the run's adapters to m: from a resume checkpoint,
// from LoRAConfig.From, or freshly initialised.
func attachStageLoRA(m *model.Model, lc LoRAConfig, resume *Resume, seed uint64, logf func(string, ...any)) error {
	switch {
	case resume != nil && resume.LoRA != nil:
		_, err := model.LoadLoRA(m, resume.LoRA, resume.LoRAShapes, model.LoRAOptions{Alpha: resume.LoRAAlpha})
		return err
	case resume != nil:
		return errors.New("lora: the resume checkpoint holds no adapters (it was not written by a LoRA run)")
	case lc.From != "":
		a, err := checkpoint.LoadAdapters(lc.From)
		if err != nil {
			return fmt.Errorf("--from_lora: %w", err)
		}
		alpha := lc.Alpha
		if alpha == 0 {
			alpha = a.Alpha
		}
		l, err := model.LoadLoRA(m, a.Tensors, a.Shapes, model.LoRAOptions{Alpha: alpha})
		if err != nil {
			return fmt.Errorf("--from_lora %s: %w", lc.From, err)
		}
		logf("lora: starting from the adapters in %s (rank %d)", lc.From, l.Rank)
		return nil
	default:
		_, err := model.AttachLoRA(m, model.LoRAOptions{Rank: lc.Rank, Alpha: lc.Alpha, Targets: lc.Targets, Seed: seed})
		return err
	}
}

// loadTokenizer loads the tokenizer folder dir (default: weightDir when it
// holds a tokenizer, else ../model) and hashes its files.
func loadTokenizer(dir, weightDir string) (*tokenizer.Tokenizer, []string, string, error) {
	if dir == "" {
		dir = filepath.Join("..", "model")
		if weightDir != "" {
			if _, err := os.Stat(filepath.Join(weightDir, tokenizer.TokenizerFile)); err == nil {
				dir = weightDir
			}
		}
	}
	tk, err := tokenizer.Load(dir)
	if err != nil {
		return nil, nil, "", fmt.Errorf("--tokenizer: %w", err)
	}
	files := []string{filepath.Join(dir, tokenizer.TokenizerFile)}
	if _, err := os.Stat(filepath.Join(dir, tokenizer.ConfigFile)); err == nil {
		files = append(files, filepath.Join(dir, tokenizer.ConfigFile))
	}
	h, err := HashFiles(files...)
	return tk, files, h, err
}

// loadStageData tokenizes (or reopens the cache of) the stage's data with a
// progress bar.
func loadStageData(ctx context.Context, sc StageConfig, proc *Processor, cacheDir, tokHash string, logf func(string, ...any)) (*Dataset, error) {
	var tbar *progress.Bar
	totalMB := 1
	if st, err := os.Stat(sc.DataPath); err == nil && sc.Progress != nil {
		totalMB = max(1, int((st.Size()+1<<20-1)>>20))
		tbar = progress.New(sc.Progress, totalMB, progress.Options{Label: "tokenize (MB)"})
	}
	tokenized := false
	data, err := LoadDataset(ctx, sc.DataPath, proc, LoadOptions{
		CacheDir: cacheDir, TokenizerHash: tokHash, Log: func(s string) { logf("%s", s) },
		BuildOptions: BuildOptions{Workers: sc.Threads, Strict: sc.Strict, Progress: func(n int64) {
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
	return data, err
}

// weightsHash fingerprints host weights (for the reference cache's key).
func weightsHash(w *model.Weights, c model.Config) string {
	h := fnv.New64a()
	var b [4]byte
	for _, p := range c.Params(w) {
		for _, v := range (*p.Ptr).(*model.Host).Data {
			u := math.Float32bits(v)
			b[0], b[1], b[2], b[3] = byte(u), byte(u>>8), byte(u>>16), byte(u>>24)
			h.Write(b[:])
		}
	}
	return fmt.Sprintf("%016x", h.Sum64())
}

// buildRefCache loads the reference cache at path, or computes it over
// every pair (in data order, BatchSize pairs at a time) and saves it.
func buildRefCache(ctx context.Context, ref *model.Model, data *Dataset, sc StageConfig, path, key string, logf func(string, ...any)) (*RefCache, error) {
	if c, err := LoadRefCache(path, key); err == nil && len(c.Chosen) == data.Len() {
		logf("dpo: reference log-probabilities from %s", path)
		return c, nil
	}
	ep, err := NewPairEpoch(data, 0, false, 0, sc.MaxSeqLen)
	if err != nil {
		return nil, err
	}
	c := &RefCache{Key: key, Chosen: make([]float64, data.Len()), Rejected: make([]float64, data.Len())}
	n := ep.Iters(sc.BatchSize)
	var bar *progress.Bar
	if sc.Progress != nil {
		bar = progress.New(sc.Progress, n, progress.Options{Label: "reference"})
	}
	for i := range n {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("%w while computing the reference log-probabilities (nothing was saved)", ErrInterrupted)
		}
		b, err := ep.Batch(i, sc.BatchSize)
		if err != nil {
			return nil, err
		}
		lp, err := RefLogps(ref, b)
		if err != nil {
			return nil, err
		}
		P := len(b.Samples)
		for k, s := range b.Samples {
			c.Chosen[s], c.Rejected[s] = lp[k], lp[P+k]
		}
		if bar != nil {
			bar.Update(i+1, "")
		}
	}
	if bar != nil {
		bar.Finish("")
	}
	if err := c.Save(path); err != nil {
		return nil, err
	}
	logf("dpo: reference log-probabilities of %d pairs saved to %s", data.Len(), path)
	return c, nil
}
