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
	"time"

	"github.com/minimind-go/minimind/chat"
	"github.com/minimind-go/minimind/corpus"
	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/native"
	"github.com/minimind-go/minimind/progress"
	"github.com/minimind-go/minimind/reward"
	"github.com/minimind-go/minimind/tokenizer"
	"github.com/minimind-go/minimind/zoo"
)

// zeroRLFlags configure `mmtrain zero-grpo`.
type zeroRLFlags struct {
	from, out             string
	words, evalItems      int
	epochs, batch, G      int
	genLen                int
	lr, beta              float64
	lossType              string
	threads, saveInterval int
	screenSamples         int
	seed                  uint64
}

// zeroGRPO runs GRPO on the MiniMind-Zero SFT model with a verifiable
// reward: a definition answer is right (reward 1) when it contains a
// defining term of the word. It trains on definition questions the model
// answers wrong, drawn from the evaluation words that the held-out
// evaluation does not use, and measures the held-out definition accuracy
// before and after.
func zeroGRPO(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	f := &zeroRLFlags{}
	fs := flag.NewFlagSet("mmtrain zero-grpo", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&f.from, "from", "", "SFT model folder (default: ./out's Zero model, else the embedded one)")
	fs.StringVar(&f.out, "out", filepath.Join("out", "zero_grpo"), "output folder")
	fs.IntVar(&f.words, "train_words", 48, "definition questions to train on (words the model answers wrong)")
	fs.IntVar(&f.evalItems, "eval_items", 100, "held-out definition questions to score (the Zero evaluation's)")
	fs.IntVar(&f.epochs, "epochs", 8, "passes over the training questions")
	fs.IntVar(&f.batch, "batch_size", 2, "prompts per step")
	fs.IntVar(&f.G, "num_generations", 8, "completions per prompt")
	fs.IntVar(&f.genLen, "max_gen_len", 40, "new tokens per completion")
	fs.Float64Var(&f.lr, "learning_rate", 1e-4, "learning rate (cosine annealing to 10%)")
	fs.Float64Var(&f.beta, "beta", 0.1, "KL coefficient")
	fs.StringVar(&f.lossType, "loss_type", "cispo", "cispo or grpo")
	fs.IntVar(&f.threads, "threads", 0, "CPU threads (0: all cores)")
	fs.IntVar(&f.saveInterval, "save_interval", 0, "save every N steps (0: at the end)")
	fs.Uint64Var(&f.seed, "seed", 42, "seed of the prompt order and sampling")
	fs.IntVar(&f.screenSamples, "screen_samples", 8, "also require that 1 of this many sampled answers is right (0: greedy screening only)")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	kind, err := native.ParseLossKind(f.lossType)
	if err != nil || kind == native.PPO {
		return fmt.Errorf("%w: --loss_type must be cispo or grpo", errUsage)
	}
	start := time.Now()
	logf := func(format string, a ...any) {
		fmt.Fprintf(stderr, "%s %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, a...))
	}
	eng, release, err := openDevice("cpu", f.threads)
	if err != nil {
		return err
	}
	defer release()
	bot, source, err := zoo.LoadBot(f.from, eng)
	if err != nil {
		return err
	}
	logf("policy and reference: %s", source)
	m0 := bot.Model
	host := &model.Weights{}
	src := m0.Config.Params(m0.W)
	for i, p := range m0.Config.Params(host) {
		*p.Ptr = &model.Host{Data: eng.Read(*src[i].Ptr)}
	}
	items, err := corpus.EvalSet()
	if err != nil {
		return err
	}
	var core []corpus.EvalItem
	for _, it := range items {
		if it.Core {
			core = append(core, it)
		}
	}
	heldOut := core[:min(f.evalItems, len(core))]
	held := map[string]bool{}
	for _, it := range heldOut {
		held[it.Word] = true
	}
	// Training candidates: every other evaluation word.
	var pool []corpus.EvalItem
	for _, it := range items {
		if !held[it.Word] {
			pool = append(pool, it)
		}
	}

	before, n, err := evalDefinitions(ctx, bot, f.evalItems, stderr)
	if err != nil {
		return err
	}
	logf("held-out definition accuracy before: %d/%d", before, n)

	// Words the SFT model answers wrong (greedy, as the evaluation).
	bar := progress.New(stderr, len(pool), progress.Options{Label: "screen"})
	var train []native.RLPrompt
	var trainItems []corpus.EvalItem
	screened, wrong := 0, 0
	for i, it := range pool {
		if len(train) >= f.words {
			break
		}
		r, err := bot.Generate(ctx, []tokenizer.Message{{Role: "user", Content: it.Question}}, chat.Options{MaxTokens: 48}, nil)
		if err != nil {
			return err
		}
		screened++
		msgs := []tokenizer.Message{{Role: "user", Content: it.Question}}
		keep := !it.Match(r.Text)
		if keep && f.screenSamples > 0 {
			// GRPO learns only from groups whose rewards differ: keep the
			// words the model sometimes gets right when sampling.
			ids, err := bot.Prompt(msgs, false)
			if err != nil {
				return err
			}
			outs, _, err := native.GenerateGroup(ctx, bot.Model, ids, native.RolloutOptions{G: f.screenSamples, MaxTokens: f.genLen,
				Sample: native.DefaultSample(), Seed: f.seed + uint64(i)})
			if err != nil {
				return err
			}
			hit := false
			for _, o := range outs {
				_, ans := chat.SplitThink(bot.Tok.DecodeSkipSpecial(o))
				hit = hit || it.Match(ans)
			}
			keep = hit
		}
		if keep {
			wrong++
			train = append(train, native.RLPrompt{Messages: msgs, GT: it.Terms})
			trainItems = append(trainItems, it)
		}
		bar.Update(i+1, fmt.Sprintf("%d kept", wrong))
	}
	bar.Finish(fmt.Sprintf("%d of %d screened kept", wrong, screened))
	if len(train) == 0 {
		return errors.New("zero-grpo: the model answers every screened word right; nothing to train on")
	}

	tr, err := native.NewTrainer(m0, native.DefaultOptim())
	if err != nil {
		return err
	}
	ref, err := model.New(m0.Config, eng, host)
	if err != nil {
		return err
	}
	iters := (len(train) + f.batch - 1) / f.batch
	out := filepath.Join(f.out, "zero_grpo")
	rc := native.RLConfig{Stage: "zero-grpo", Epochs: f.epochs, BatchSize: f.batch, G: f.G, MaxSeqLen: 256, MaxGenLen: f.genLen,
		Sample: native.DefaultSample(), Seed: f.seed, SaveInterval: f.saveInterval, LR: f.lr, Tokenizer: bot.Tok,
		Reward: reward.Contains{},
		Group: &native.GroupUpdate{Policy: tr, Ref: ref, G: f.G, Sched: native.RLSchedule{LR: f.lr, TMax: iters * f.epochs},
			Loss: native.PolicyLoss{Kind: kind, Beta: f.beta, Eps: 0.2, EpsHigh: 5}},
		OutDir: out, Progress: stderr, Log: func(s string) { logf("%s", s) }}
	tRL := time.Now()
	res, err := native.RunRL(ctx, train, rc)
	if err != nil {
		return err
	}
	rlDur := time.Since(tRL)
	if err := bot.Tok.Save(out); err != nil {
		return err
	}
	after, _, err := evalDefinitions(ctx, bot, f.evalItems, stderr)
	if err != nil {
		return err
	}
	logf("held-out definition accuracy after: %d/%d", after, n)
	// The trained questions themselves, greedily (all were wrong before).
	trainRight := 0
	for _, it := range trainItems {
		r, err := bot.Generate(ctx, []tokenizer.Message{{Role: "user", Content: it.Question}}, chat.Options{MaxTokens: 48}, nil)
		if err != nil {
			return err
		}
		if it.Match(r.Text) {
			trainRight++
		}
	}
	logf("trained questions answered right after (greedy): %d/%d (0 before)", trainRight, len(trainItems))

	// The report: accuracy before/after, reward and KL over the run.
	var rw, kl []float64
	var genTok, genSec, updTok, updSec float64
	for _, s := range res.Steps {
		rw = append(rw, s.Reward)
		kl = append(kl, s.KL3)
		genSec += s.Rollout
		updSec += s.Update
		genTok += s.RolloutTPS * s.Rollout
		updTok += s.UpdateTPS * s.Update
	}
	third := max(1, len(rw)/3)
	mean := func(xs []float64) float64 {
		var s float64
		for _, x := range xs {
			s += x
		}
		return s / float64(max(1, len(xs)))
	}
	report := map[string]any{
		"model": source, "train_questions": len(train), "screened": screened, "screen_samples": f.screenSamples, "steps": len(res.Steps),
		"held_out_items": n, "accuracy_before": before, "accuracy_after": after, "train_right_after": trainRight,
		"reward_first_third": mean(rw[:third]), "reward_last_third": mean(rw[len(rw)-third:]),
		"kl_last_third": mean(kl[len(kl)-third:]), "rl_minutes": rlDur.Minutes(), "total_minutes": time.Since(start).Minutes(),
		"rollout_tokens_per_s": genTok / max(genSec, 1e-9), "update_tokens_per_s": updTok / max(updSec, 1e-9),
		"learning_rate": f.lr, "beta": f.beta, "loss_type": f.lossType, "num_generations": f.G, "batch_size": f.batch, "epochs": f.epochs,
	}
	b, _ := json.MarshalIndent(report, "", "  ")
	if err := os.WriteFile(filepath.Join(f.out, "report.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "zero-grpo: held-out definition accuracy %d/%d → %d/%d; trained questions 0/%d → %d/%d; reward %.3f → %.3f (first/last third of %d steps), KL %.4f; RL %.1f min; %s\n",
		before, n, after, n, len(trainItems), trainRight, len(trainItems), report["reward_first_third"], report["reward_last_third"], len(res.Steps), report["kl_last_third"],
		rlDur.Minutes(), filepath.Join(f.out, "report.json"))
	return nil
}
