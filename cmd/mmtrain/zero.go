package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/minimind-go/minimind/chat"
	"github.com/minimind-go/minimind/corpus"
	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/checkpoint"
	"github.com/minimind-go/minimind/model/cpu"
	"github.com/minimind-go/minimind/native"
	"github.com/minimind-go/minimind/progress"
	"github.com/minimind-go/minimind/tokenizer"
	"github.com/minimind-go/minimind/zoo"
)

// zeroFlags configure the MiniMind-Zero pipeline (`mmtrain` with no stage).
type zeroFlags struct {
	out                       string
	preset                    string
	pretrainTokens, sftTokens int
	seqLen, batch             int
	pretrainLR, sftLR         float64
	pretrainEpochs, sftEpochs int
	identityRepeat            int
	corePretrainRepeat        int
	coreSFTRepeat             int
	warmup                    int
	evalItems                 int
	threads                   int
	seed                      uint64
	stages                    string
	dpoPairs, dpoEpochs       int
	dpoLR, dpoBeta            float64
	dpoRejected               string
	loraLR                    float64
	loraEpochs, loraRank      int
	loraTargets               string
}

// zeroQuestions are asked of the finished model.
var zeroQuestions = []string{
	"Who are you?",
	"你是谁？",
	"What does \"water\" mean?",
	"What is a city?",
	"What is the opposite of \"good\"?",
	"Give me a synonym for \"big\".",
	"Use the word \"friend\" in a sentence.",
	"What is a car?", // a held-out word: its texts are in pretraining, no conversation asks about it
}

func parseZeroFlags(args []string, stderr io.Writer) (*zeroFlags, error) {
	f := &zeroFlags{}
	fs := flag.NewFlagSet("mmtrain zero", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.out, "out", "out", "output folder")
	fs.StringVar(&f.preset, "preset", "zero", "architecture preset")
	fs.IntVar(&f.pretrainTokens, "pretrain_tokens", 500_000, "general pretraining tokens (a deterministic sample of the whole corpus; 0: all of it) added to the core-vocabulary texts")
	fs.IntVar(&f.sftTokens, "sft_tokens", 300_000, "general SFT tokens (a deterministic sample of all conversations; 0: all of them) added to the core-vocabulary conversations")
	fs.IntVar(&f.corePretrainRepeat, "core_repeat", 16, "copies of the core-vocabulary texts in the pretraining data (0: none)")
	fs.IntVar(&f.coreSFTRepeat, "core_sft_repeat", 10, "copies of the core-vocabulary conversations in the SFT data (0: none)")
	fs.IntVar(&f.seqLen, "max_seq_len", 256, "tokens per row (rows are packed)")
	fs.IntVar(&f.batch, "batch_size", 8, "rows per step")
	fs.Float64Var(&f.pretrainLR, "pretrain_lr", 2e-3, "pretraining peak learning rate")
	fs.Float64Var(&f.sftLR, "sft_lr", 1.5e-3, "SFT peak learning rate")
	fs.IntVar(&f.pretrainEpochs, "pretrain_epochs", 1, "pretraining epochs")
	fs.IntVar(&f.sftEpochs, "sft_epochs", 1, "SFT epochs")
	fs.IntVar(&f.identityRepeat, "identity_repeat", 3, "copies of the identity conversations (who are you?) in the SFT data")
	fs.IntVar(&f.warmup, "warmup_iters", 20, "warm-up steps of each stage")
	fs.IntVar(&f.evalItems, "eval_items", 100, "held-out definition questions to score")
	fs.IntVar(&f.threads, "threads", 0, "CPU threads (0: all cores)")
	fs.Uint64Var(&f.seed, "seed", 42, "seed of weights and data order")
	fs.StringVar(&f.stages, "stages", "pretrain,sft", "stages to run, in order: pretrain, sft, dpo, lora (dpo and lora start from out/full_sft_*, else from the embedded model)")
	fs.IntVar(&f.dpoPairs, "dpo_pairs", 400, "DPO: preference pairs built from the core conversations (chosen: the corpus answer; rejected: the SFT model's own wrong or repetitive answer)")
	fs.IntVar(&f.dpoEpochs, "dpo_epochs", 1, "DPO epochs")
	fs.Float64Var(&f.dpoLR, "dpo_lr", 5e-5, "DPO peak learning rate")
	fs.Float64Var(&f.dpoBeta, "dpo_beta", 0.15, "DPO β")
	fs.StringVar(&f.dpoRejected, "dpo_rejected", "both", "DPO rejected answers: both (the model's mistakes, else the right answer made repetitive) or mistakes (only the model's own wrong answers)")
	fs.Float64Var(&f.loraLR, "lora_lr", 3e-3, "LoRA peak learning rate")
	fs.IntVar(&f.loraEpochs, "lora_epochs", 20, "LoRA epochs over the persona conversations")
	fs.IntVar(&f.loraRank, "lora_rank", 16, "LoRA rank")
	fs.StringVar(&f.loraTargets, "lora_targets", "", "LoRA target projections (default: MiniMind's square layers)")
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return nil, err
		}
		return nil, fmt.Errorf("%w: %v", errUsage, err)
	}
	for _, st := range strings.Split(f.stages, ",") {
		if st != "pretrain" && st != "sft" && st != "dpo" && st != "lora" {
			return nil, fmt.Errorf("%w: --stages: unknown stage %q (pretrain, sft, dpo, lora)", errUsage, st)
		}
	}
	if f.dpoRejected != "both" && f.dpoRejected != "mistakes" {
		return nil, fmt.Errorf("%w: --dpo_rejected must be both or mistakes", errUsage)
	}
	if f.has("pretrain") != f.has("sft") {
		return nil, fmt.Errorf("%w: --stages: pretrain and sft run together", errUsage)
	}
	return f, nil
}

// has reports whether stage is in --stages.
func (f *zeroFlags) has(stage string) bool {
	return slices.Contains(strings.Split(f.stages, ","), stage)
}

// stageConfig is the library configuration of one Zero stage.
func (f *zeroFlags) stageConfig(stage native.Stage, cfg model.Config, tokDir, data, from string, lr float64, epochs int, stderr io.Writer) native.StageConfig {
	return native.StageConfig{Stage: stage, DataPath: data, Epochs: epochs, BatchSize: f.batch, Accum: 1, MaxSeqLen: f.seqLen,
		LR: lr, Clip: 1, Arch: cfg, FromWeight: from, SaveDir: f.out, SaveWeight: map[native.Stage]string{
			native.StagePretrain: "pretrain", native.StageSFT: "full_sft", native.StageDPO: "dpo", native.StageLoRA: "lora_persona"}[stage],
		LogInterval: 50, Tokenizer: tokDir, CacheDir: filepath.Join(f.out, "cache"), Shuffle: true,
		Packing: stage == native.StagePretrain || stage == native.StageSFT, Seed: f.seed, Threads: f.threads, Warmup: f.warmup,
		SaveDType: "F16", Engine: cpu.New(f.threads), Progress: stderr,
		Log: func(s string) { fmt.Fprintf(stderr, "%s %s\n", time.Now().Format("15:04:05"), s) }}
}

// zero runs MiniMind-Zero: pretraining and SFT of a small model on the
// embedded corpus with the embedded tokenizer, then validation loss, the
// held-out definition accuracy and a few sample answers.
func zero(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f, err := parseZeroFlags(args, stderr)
	if err == flag.ErrHelp {
		return nil
	}
	if err != nil {
		return err
	}
	start := time.Now()
	cfg, err := model.Preset(f.preset)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	fmt.Fprintf(stderr, "MiniMind-Zero: %s of a %.1fM-parameter MiniMind (%s) on the embedded corpus.\n"+
		"Everything is written to %s; talk to the result with `go run ./cmd/mmchat`.\n\n",
		f.stages, float64(cfg.ParamCount())/1e6, f.preset, f.out)

	tokDir := filepath.Join(f.out, "zero_tokenizer")
	if err := writeFS(zoo.Tokenizer(), tokDir, tokenizer.TokenizerFile, tokenizer.ConfigFile); err != nil {
		return err
	}
	tk, err := tokenizer.Load(tokDir)
	if err != nil {
		return err
	}
	rep := zeroReport{Preset: f.preset, Params: cfg.ParamCount(), Stages: f.stages}
	if f.has("pretrain") {
		if err := zeroBase(ctx, f, cfg, tk, tokDir, &rep, stdout, stderr); err != nil {
			return err
		}
	}
	if f.has("dpo") || f.has("lora") {
		if err := zeroPost(ctx, f, cfg, tokDir, &rep, stdout, stderr); err != nil {
			return err
		}
	}
	rep.Seconds = time.Since(start).Seconds()
	data, _ := json.MarshalIndent(rep, "", "  ")
	if err := checkpoint.WriteFileAtomic(filepath.Join(f.out, "zero_report.json"), append(data, '\n')); err != nil {
		return err
	}
	sft := filepath.Join(f.out, native.RunName("full_sft", cfg))
	fmt.Fprintf(stdout, "\nDone in %s. The chat model is %s; talk to it with `go run ./cmd/mmchat` (report: %s).\n",
		dur(rep.Seconds), sft, filepath.Join(f.out, "zero_report.json"))
	return nil
}

// zeroBase runs the pretraining and SFT stages of Zero and evaluates them.
func zeroBase(ctx context.Context, f *zeroFlags, cfg model.Config, tk *tokenizer.Tokenizer, tokDir string, rep *zeroReport, stdout, stderr io.Writer) error {
	logf := func(format string, a ...any) {
		fmt.Fprintf(stderr, "%s %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, a...))
	}
	dataDir := filepath.Join(f.out, "zero_data")
	// Pretraining: the core vocabulary's texts and a sample of everything
	// else; SFT: the core conversations, the identity conversations and a
	// sample of all the others. Each stage repeats its file over epochs.
	type part struct {
		src    io.Reader
		budget int // tokens; 0: all lines
		repeat int // copies; 0 leaves the part out
		filter func(line []byte) bool
	}
	isIdentity := func(l []byte) bool { return bytes.Contains(l, []byte("MiniMind")) }
	notIdentity := func(l []byte) bool { return !isIdentity(l) }
	corePre := part{src: corpus.CorePretrain(), repeat: f.corePretrainRepeat}
	coreSFT := part{src: corpus.CoreSFT(), repeat: f.coreSFTRepeat}
	files := []struct {
		name  string
		sft   bool
		parts []part
	}{
		{"pretrain.jsonl", false, []part{corePre, {src: corpus.Pretrain(), budget: f.pretrainTokens, repeat: 1}}},
		{"sft.jsonl", true, []part{coreSFT, {src: corpus.SFT(), repeat: f.identityRepeat, filter: isIdentity},
			{src: corpus.SFT(), budget: f.sftTokens, repeat: 1, filter: notIdentity}}},
		{"val_pretrain.jsonl", false, []part{{src: corpus.ValidationPretrain(), budget: 30_000, repeat: 1}}},
		{"val_sft.jsonl", true, []part{{src: corpus.ValidationSFT(), budget: 30_000, repeat: 1}}},
	}
	counts := map[string][2]int{}
	for _, fl := range files {
		var out bytes.Buffer
		docs, toks := 0, 0
		for _, p := range fl.parts {
			if p.repeat <= 0 {
				continue
			}
			lines, n, err := sampleJSONL(p.src, tk, p.budget, fl.sft, p.filter)
			if err != nil {
				return fmt.Errorf("zero: %s: %w", fl.name, err)
			}
			for range p.repeat {
				for _, l := range lines {
					out.Write(l)
					out.WriteByte('\n')
				}
				docs += len(lines)
				toks += n
			}
		}
		if err := os.MkdirAll(dataDir, 0o755); err != nil {
			return err
		}
		if err := checkpoint.WriteFileAtomic(filepath.Join(dataDir, fl.name), out.Bytes()); err != nil {
			return err
		}
		counts[fl.name] = [2]int{docs, toks}
	}
	logf("data: pretrain %d documents (%d tokens) × %d epochs, SFT %d conversations (%d tokens) × %d epochs, validation %d + %d",
		counts["pretrain.jsonl"][0], counts["pretrain.jsonl"][1], f.pretrainEpochs, counts["sft.jsonl"][0], counts["sft.jsonl"][1], f.sftEpochs,
		counts["val_pretrain.jsonl"][0], counts["val_sft.jsonl"][0])

	// Estimate the time from two timed steps of this machine.
	tps, err := measureSpeed(cfg, f)
	if err != nil {
		return err
	}
	// Packed rows keep some padding (12–23%), which costs compute too.
	tps /= 1.15
	preToks, sftToks := f.pretrainEpochs*counts["pretrain.jsonl"][1], f.sftEpochs*counts["sft.jsonl"][1]
	total := float64(preToks+sftToks) / tps
	evalSecs := float64(f.evalItems*24+len(zeroQuestions)*48)/(tps*2) + float64(counts["val_pretrain.jsonl"][1]+counts["val_sft.jsonl"][1])/(tps*3)
	logf("this machine trains this model at about %.0f tokens/s: pretraining ≈ %s, SFT ≈ %s, evaluation ≈ %s; about %s in all",
		tps, dur(float64(preToks)/tps), dur(float64(sftToks)/tps), dur(evalSecs), dur(total+evalSecs))

	fmt.Fprintln(stderr, "\n== stage 1/2: pretraining")
	pc := f.stageConfig(native.StagePretrain, cfg, tokDir, filepath.Join(dataDir, "pretrain.jsonl"), "none", f.pretrainLR, f.pretrainEpochs, stderr)
	if err := runStage(ctx, pc, f.threads, stdout, stderr); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	pre := filepath.Join(f.out, native.RunName("pretrain", cfg))
	fmt.Fprintln(stderr, "\n== stage 2/2: supervised fine-tuning")
	sc := f.stageConfig(native.StageSFT, cfg, tokDir, filepath.Join(dataDir, "sft.jsonl"), pre, f.sftLR, f.sftEpochs, stderr)
	if err := runStage(ctx, sc, f.threads, stdout, stderr); err != nil {
		return err
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	sft := filepath.Join(f.out, native.RunName("full_sft", cfg))

	fmt.Fprintln(stderr, "\n== evaluation")
	rep.PretrainTokens, rep.SFTTokens = counts["pretrain.jsonl"][1], counts["sft.jsonl"][1]
	if rep.ValPretrainLoss, err = valLoss(ctx, pre, filepath.Join(dataDir, "val_pretrain.jsonl"), native.Pretrain, f); err != nil {
		return err
	}
	if rep.ValSFTLoss, err = valLoss(ctx, sft, filepath.Join(dataDir, "val_sft.jsonl"), native.SFT, f); err != nil {
		return err
	}
	logf("validation loss: pretrain model on held-out text %.3f, SFT model on held-out conversations %.3f", rep.ValPretrainLoss, rep.ValSFTLoss)
	bot, err := chat.Load(sft, cpu.New(f.threads))
	if err != nil {
		return err
	}
	if rep.EvalCorrect, rep.EvalTotal, err = evalDefinitions(ctx, bot, f.evalItems, stderr); err != nil {
		return err
	}
	logf("held-out definition questions (common words no conversation asked about): %d of %d answers contain a defining term (%.1f%%)",
		rep.EvalCorrect, rep.EvalTotal, 100*float64(rep.EvalCorrect)/float64(max(rep.EvalTotal, 1)))
	fmt.Fprintln(stdout, "\nSample answers (greedy):")
	for _, q := range zeroQuestions {
		r, err := bot.Generate(ctx, []tokenizer.Message{{Role: "user", Content: q}}, chat.Options{MaxTokens: 64}, nil)
		if err != nil {
			return err
		}
		rep.Samples = append(rep.Samples, [2]string{q, strings.TrimSpace(r.Text)})
		fmt.Fprintf(stdout, "  Q: %s\n  A: %s\n", q, strings.TrimSpace(r.Text))
	}
	return nil
}

// zeroReport is out/zero_report.json.
type zeroReport struct {
	Preset          string          `json:"preset"`
	Params          int             `json:"params"`
	PretrainTokens  int             `json:"pretrain_tokens"`
	SFTTokens       int             `json:"sft_tokens"`
	ValPretrainLoss float64         `json:"val_pretrain_loss"`
	ValSFTLoss      float64         `json:"val_sft_loss"`
	EvalCorrect     int             `json:"eval_correct"`
	EvalTotal       int             `json:"eval_total"`
	Samples         [][2]string     `json:"samples"`
	Seconds         float64         `json:"seconds"`
	Stages          string          `json:"stages,omitempty"`
	DPO             *zeroDPOReport  `json:"dpo,omitempty"`
	LoRA            *zeroLoRAReport `json:"lora,omitempty"`
}

func dur(s float64) string {
	if s < 90 {
		return fmt.Sprintf("%.0f s", s)
	}
	return fmt.Sprintf("%.1f min", s/60)
}

// writeFS copies the named files of fsys into dir.
func writeFS(fsys fs.FS, dir string, names ...string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, n := range names {
		data, err := fs.ReadFile(fsys, n)
		if err != nil {
			return fmt.Errorf("zero: embedded %s: %w", n, err)
		}
		if err := checkpoint.WriteFileAtomic(filepath.Join(dir, n), data); err != nil {
			return err
		}
	}
	return nil
}

// sampleJSONL returns lines of src (those filter accepts, when it is not
// nil), spreading the selection evenly over the file until about budget
// tokens are taken (0: all lines), and the tokens they hold, counted as the
// trainer will see them (text plus bos/eos, or the rendered conversation).
func sampleJSONL(src io.Reader, tk *tokenizer.Tokenizer, budget int, sft bool, filter func([]byte) bool) ([][]byte, int, error) {
	var lines [][]byte
	sc := bufio.NewScanner(src)
	sc.Buffer(make([]byte, 1<<20), 1<<24)
	for sc.Scan() {
		if filter == nil || filter(sc.Bytes()) {
			lines = append(lines, append([]byte(nil), sc.Bytes()...))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, 0, err
	}
	count := func(line []byte) int {
		if sft {
			var v struct {
				Conversations json.RawMessage `json:"conversations"`
			}
			if json.Unmarshal(line, &v) != nil {
				return 0
			}
			s, err := tk.ApplyChatTemplateJSON(v.Conversations, tokenizer.ChatOptions{})
			if err != nil {
				return 0
			}
			return len(tk.Encode(s))
		}
		var v struct{ Text string }
		if json.Unmarshal(line, &v) != nil {
			return 0
		}
		return len(tk.Encode(v.Text)) + 2
	}
	// Visit lines with a fixed stride coprime to the count, so the sample
	// is spread over the whole file and deterministic.
	n := len(lines)
	stride := 1
	if budget > 0 && n > 1 {
		stride = int(float64(n)*0.618) | 1
		for gcd(stride, n) != 1 {
			stride += 2
		}
	}
	var out [][]byte
	toks := 0
	for i, idx := 0, 0; i < n; i, idx = i+1, (idx+stride)%n {
		if budget > 0 && toks >= budget {
			break
		}
		toks += count(lines[idx])
		out = append(out, lines[idx])
	}
	return out, toks, nil
}

func gcd(a, b int) int {
	for b != 0 {
		a, b = b, a%b
	}
	return a
}

// measureSpeed times two training steps of cfg on synthetic packed rows and
// returns tokens per second.
func measureSpeed(cfg model.Config, f *zeroFlags) (float64, error) {
	m, err := model.New(cfg, cpu.New(f.threads), model.InitWeights(cfg, 1))
	if err != nil {
		return 0, err
	}
	B, T := f.batch, f.seqLen
	b := model.Batch{B: B, T: T, Input: make([]int32, B*T), Labels: make([]int32, B*T), Positions: make([]int32, B*T), Docs: make([]int32, B*T)}
	for i := range b.Input {
		b.Input[i] = int32(i*37%(cfg.Vocab-3) + 3)
		b.Labels[i] = b.Input[i]
		b.Positions[i] = int32(i % T % 128)
		b.Docs[i] = int32(i % T / 128)
	}
	g := m.NewGrads()
	best := math.Inf(1)
	for i := range 5 { // the first steps grow the heap; keep the fastest
		t0 := time.Now()
		if _, err := m.LossAndGrad(b, g, 1); err != nil {
			return 0, err
		}
		if i >= 2 {
			best = min(best, time.Since(t0).Seconds())
		}
	}
	return float64(B*T) / best * 0.9, nil // optimizer, data and noise take ~10%
}

// valLoss is the mean cross-entropy of the model in dir on a jsonl file.
func valLoss(ctx context.Context, dir, data string, mode native.Mode, f *zeroFlags) (float64, error) {
	cfg, w, err := checkpoint.Load(dir)
	if err != nil {
		return 0, err
	}
	tk, err := tokenizer.Load(dir)
	if err != nil {
		return 0, err
	}
	m, err := model.New(cfg, cpu.New(f.threads), w)
	if err != nil {
		return 0, err
	}
	dc := native.DataConfig{Mode: mode, MaxSeqLen: f.seqLen, Vocab: cfg.Vocab, BOS: cfg.BOS, EOS: cfg.EOS, PAD: cfg.PAD}
	proc, err := native.NewProcessor(dc, native.FromTokenizer(tk))
	if err != nil {
		return 0, err
	}
	ds, err := native.LoadDataset(ctx, data, proc, native.LoadOptions{CacheDir: filepath.Join(f.out, "cache")})
	if err != nil {
		return 0, err
	}
	defer ds.Close()
	ep, err := native.NewEpoch(ds, 0, native.EpochOptions{Packing: true, T: f.seqLen})
	if err != nil {
		return 0, err
	}
	var sum float64
	var n int
	iters := ep.Iters(f.batch)
	for i := range iters {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		b, err := ep.Batch(i, f.batch)
		if err != nil {
			return 0, err
		}
		l, err := m.Loss(b)
		if err != nil {
			return 0, err
		}
		sum += l.CE * float64(l.Targets)
		n += l.Targets
	}
	if n == 0 {
		return math.NaN(), nil
	}
	return sum / float64(n), nil
}

// evalDefinitions asks up to n held-out definition questions about core
// words greedily and
// counts the answers that contain a defining term.
func evalDefinitions(ctx context.Context, bot *chat.Bot, n int, stderr io.Writer) (int, int, error) {
	items, err := corpus.EvalSet()
	if err != nil {
		return 0, 0, err
	}
	// The held-out words of the core vocabulary: the common words whose
	// texts the pretraining stage repeats.
	var core []corpus.EvalItem
	for _, it := range items {
		if it.Core {
			core = append(core, it)
		}
	}
	items = core[:min(n, len(core))]
	bar := progress.New(stderr, len(items), progress.Options{Label: "eval"})
	correct := 0
	for i, it := range items {
		r, err := bot.Generate(ctx, []tokenizer.Message{{Role: "user", Content: it.Question}}, chat.Options{MaxTokens: 48}, nil)
		if err != nil {
			return 0, 0, err
		}
		if it.Match(r.Text) {
			correct++
		}
		bar.Update(i+1, fmt.Sprintf("%d correct", correct))
	}
	bar.Finish(fmt.Sprintf("%d correct", correct))
	return correct, len(items), nil
}
