package native

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"time"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/checkpoint"
	"github.com/minimind-go/minimind/progress"
	"github.com/minimind-go/minimind/reward"
	"github.com/minimind-go/minimind/tokenizer"
	"github.com/minimind-go/minimind/toolcall"
)

// RLPrompt is one prompt of an RL data set: the conversation to answer and
// the accepted answers or terms of verifiable rewards.
type RLPrompt struct {
	Messages []tokenizer.Message
	GT       []string
	// Tools are the tool schemas the conversation offers (the agent data's
	// system message "tools", a JSON list or a string holding one, or the
	// row's "tools"); nil when it names none.
	Tools []json.RawMessage
}

// ReadRLPrompts reads MiniMind's RL jsonl ({"conversations": [...]},
// rlaif.jsonl and agent_rl.jsonl) with an optional "gt" list of accepted
// answers (a string is one answer). As MiniMind, a final assistant turn is
// dropped (its content is a placeholder). The agent data's tools list is
// read from a system message's "tools" (as MiniMind's AgentRLDataset: a
// JSON list, or a string holding one; the last such message wins), else
// from the row's "tools". Blank lines are skipped; a
// malformed line is an error naming the line.
func ReadRLPrompts(r io.Reader, name string) ([]RLPrompt, error) {
	var out []RLPrompt
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<26)
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var row struct {
			Conversations []tokenizer.Message `json:"conversations"`
			GT            json.RawMessage     `json:"gt"`
			Tools         json.RawMessage     `json:"tools"`
		}
		if err := json.Unmarshal(b, &row); err != nil {
			return nil, fmt.Errorf("native: %s:%d: %w", name, line, err)
		}
		var sys struct {
			Conversations []struct {
				Role  string          `json:"role"`
				Tools json.RawMessage `json:"tools"`
			} `json:"conversations"`
		}
		if err := json.Unmarshal(b, &sys); err != nil {
			return nil, fmt.Errorf("native: %s:%d: %w", name, line, err)
		}
		tools, err := toolSchemas(row.Tools)
		if err != nil {
			return nil, fmt.Errorf("native: %s:%d: tools: %w", name, line, err)
		}
		for j, m := range sys.Conversations {
			if m.Role != "system" {
				continue
			}
			t, err := toolSchemas(m.Tools)
			if err != nil {
				return nil, fmt.Errorf("native: %s:%d: conversations[%d].tools: %w", name, line, j, err)
			}
			if t != nil {
				tools = t
			}
		}
		msgs := row.Conversations
		if n := len(msgs); n > 0 && msgs[n-1].Role == "assistant" {
			msgs = msgs[:n-1]
		}
		if len(msgs) == 0 {
			return nil, fmt.Errorf("native: %s:%d: no conversation to answer", name, line)
		}
		p := RLPrompt{Messages: msgs, Tools: tools}
		if len(row.GT) > 0 && string(row.GT) != "null" {
			var one string
			if json.Unmarshal(row.GT, &one) == nil {
				p.GT = []string{one}
			} else {
				var many []any
				if err := json.Unmarshal(row.GT, &many); err != nil {
					return nil, fmt.Errorf("native: %s:%d: gt: %w", name, line, err)
				}
				for _, g := range many {
					p.GT = append(p.GT, fmt.Sprint(g))
				}
			}
		}
		out = append(out, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("native: %s: %w", name, err)
	}
	return out, nil
}

// toolSchemas reads a tools field (parseTools) whose every schema names
// its function.
func toolSchemas(raw json.RawMessage) ([]json.RawMessage, error) {
	list, err := parseTools(raw)
	if err != nil {
		return nil, err
	}
	for i, t := range list {
		if _, err := toolcall.SchemaName(t); err != nil {
			return nil, fmt.Errorf("tool %d: %w", i, err)
		}
	}
	return list, nil
}

// PromptTools returns what the agent stage offers for prompt p: with a tools
// list, exactly the listed schemas in the prompt and, callable, the listed
// tools that all holds (a call of any other tool gets MiniMind's
// {"error": "tool not found"}); without one, all of all.
func PromptTools(p RLPrompt, all *toolcall.Set) (*toolcall.Set, []any) {
	if all == nil {
		all = toolcall.NewSet()
	}
	if p.Tools == nil {
		return all, all.Schemas()
	}
	names := make([]string, 0, len(p.Tools))
	schemas := make([]any, 0, len(p.Tools))
	for _, t := range p.Tools {
		n, _ := toolcall.SchemaName(t) // checked by ReadRLPrompts
		names = append(names, n)
		schemas = append(schemas, t)
	}
	return all.Only(names), schemas
}

// RLConfig configures an RL run (RunRL).
type RLConfig struct {
	Stage         string // "grpo", "ppo" or "agent" (names the log)
	Epochs        int
	BatchSize     int // prompts per step
	G             int // completions per prompt (1 for PPO)
	MaxSeqLen     int // prompt tokens kept (the last ones)
	MaxGenLen     int // new tokens per completion (per turn for the agent)
	MaxTurns      int // agent turns (3)
	ThinkingRatio float64
	Sample        model.SampleOptions
	Seed          uint64
	SaveInterval  int // steps between saves (0: only at the end)
	LR            float64

	Tokenizer *tokenizer.Tokenizer
	Reward    reward.Func
	Tools     *toolcall.Set // agent

	// Exactly one of Group (GRPO/CISPO, agent) and PPO.
	Group *GroupUpdate
	PPO   *PPOUpdate

	// FromRollouts replaces generation: BatchSize·G lines a step, in order.
	FromRollouts []Rollout
	// SaveRollouts, when set, receives every rollout (appended).
	SaveRollouts string

	OutDir     string   // weights folder (config.json, model.safetensors, train_log.jsonl, rl.svg)
	CopyFiles  []string // tokenizer files copied into OutDir
	SaveDType  string
	ResumePath string  // resume checkpoint ("" disables)
	Resume     *Resume // continue from it
	Progress   io.Writer
	Log        func(string)
	// OnStep, when set, sees every step's record after it is logged.
	OnStep func(RLStep)
}

// RLStep is one line of train_log.jsonl.
type RLStep struct {
	Step    int     `json:"step"`
	Epoch   int     `json:"epoch"`
	Rollout float64 `json:"rollout_s"`
	Update  float64 `json:"update_s"`
	// RolloutTPS and UpdateTPS are generated tokens/s and trained tokens/s
	// (padded rows) of the step.
	RolloutTPS float64 `json:"rollout_tokens_per_s"`
	UpdateTPS  float64 `json:"update_tokens_per_s"`
	UpdateStats
}

// RLResult summarises a run.
type RLResult struct {
	Steps   []RLStep
	Elapsed time.Duration
}

// ErrRLInterrupted is returned when ctx ends a run (after a resume save).
var ErrRLInterrupted = errors.New("native: RL run interrupted")

// policy returns the trained actor.
func (c *RLConfig) policy() *Trainer {
	if c.PPO != nil {
		return c.PPO.Actor
	}
	return c.Group.Policy
}

// stepSeed derives the seed of one step's randomness (sampling, thinking
// coins, PPO's minibatch order) from the run seed and the global step, so
// a resumed run draws the same numbers.
func stepSeed(seed uint64, step int) uint64 {
	return seed*0x9e3779b97f4a7c15 + uint64(step)*0xbf58476d1ce4e5b9 + 1
}

// RunRL trains with rewards: per step BatchSize prompts, G rollouts each
// (generated with the KV-cache decode or read from FromRollouts), rewards,
// one update; it logs every step to train_log.jsonl and the progress line,
// saves the weights every SaveInterval steps and at the end (atomically)
// with a resume checkpoint, and writes rl.svg (reward and KL).
func RunRL(ctx context.Context, prompts []RLPrompt, cfg RLConfig) (*RLResult, error) {
	if (cfg.Group == nil) == (cfg.PPO == nil) {
		return nil, errors.New("native: RunRL needs exactly one of a group (GRPO/agent) or a PPO update")
	}
	if cfg.Epochs < 1 || cfg.BatchSize < 1 || cfg.G < 1 {
		return nil, fmt.Errorf("native: epochs (%d), batch_size (%d) and num_generations (%d) must be ≥ 1", cfg.Epochs, cfg.BatchSize, cfg.G)
	}
	logf := func(format string, a ...any) {
		if cfg.Log != nil {
			cfg.Log(fmt.Sprintf(format, a...))
		}
	}
	per := cfg.BatchSize * cfg.G
	var iters int
	if cfg.FromRollouts != nil {
		if len(cfg.FromRollouts)%cfg.G != 0 {
			return nil, fmt.Errorf("native: %d rollouts are not groups of %d", len(cfg.FromRollouts), cfg.G)
		}
		iters = (len(cfg.FromRollouts) + per - 1) / per
	} else {
		if len(prompts) == 0 {
			return nil, errors.New("native: no prompts")
		}
		iters = (len(prompts) + cfg.BatchSize - 1) / cfg.BatchSize
	}
	total := iters * cfg.Epochs
	start := 0
	if cfg.Resume != nil {
		st := cfg.Resume.State
		if st.Seed != cfg.Seed || st.BatchSize != cfg.BatchSize || st.Epochs != cfg.Epochs {
			return nil, fmt.Errorf("native: the resume checkpoint was made with seed %d, batch_size %d, epochs %d", st.Seed, st.BatchSize, st.Epochs)
		}
		start = st.Epoch*iters + st.Step
		logf("resuming at step %d of %d", start, total)
	}
	if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
		return nil, fmt.Errorf("native: %w", err)
	}
	logPath := filepath.Join(cfg.OutDir, "train_log.jsonl")
	if cfg.Resume == nil {
		_ = os.Remove(logPath)
	}
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("native: %w", err)
	}
	defer logFile.Close()
	var saveRoll *os.File
	if cfg.SaveRollouts != "" {
		flags := os.O_CREATE | os.O_WRONLY | os.O_APPEND
		if cfg.Resume == nil {
			flags |= os.O_TRUNC
		}
		if saveRoll, err = os.OpenFile(cfg.SaveRollouts, flags, 0o644); err != nil {
			return nil, fmt.Errorf("native: --save_rollouts: %w", err)
		}
		defer saveRoll.Close()
	}
	bar := progress.New(orDiscard(cfg.Progress), total, progress.Options{Label: cfg.Stage})
	bar.SetBase(start)
	res := &RLResult{}
	t0 := time.Now()
	save := func(step int) error {
		tr := cfg.policy()
		if err := saveFolder(cfg.OutDir, tr, cfg.SaveDType, cfg.CopyFiles); err != nil {
			return err
		}
		if cfg.PPO != nil {
			if err := cfg.PPO.Critic.Save(cfg.OutDir + "_critic"); err != nil {
				return err
			}
		}
		if cfg.ResumePath != "" {
			st := ResumeState{Epoch: step / iters, Step: step % iters, Mode: Mode(cfg.Stage), Seed: cfg.Seed,
				BatchSize: cfg.BatchSize, Epochs: cfg.Epochs, LR: cfg.LR, Accum: tr.Optim.Accum}
			if err := tr.SaveResume(cfg.ResumePath, st); err != nil {
				return err
			}
			if cfg.PPO != nil {
				if err := cfg.PPO.Critic.SaveResume(cfg.ResumePath + ".critic"); err != nil {
					return err
				}
			}
		}
		return writeRLSVG(logPath, filepath.Join(cfg.OutDir, "rl.svg"))
	}
	for step := start; step < total; step++ {
		if err := ctx.Err(); err != nil {
			if err := save(step); err != nil {
				return res, err
			}
			bar.Finish("interrupted")
			return res, ErrRLInterrupted
		}
		epoch, s := step/iters, step%iters
		seed := stepSeed(cfg.Seed, step)
		tRoll := time.Now()
		var rs []Rollout
		var genTokens int
		if cfg.FromRollouts != nil {
			rs = cfg.FromRollouts[s*per : min((s+1)*per, len(cfg.FromRollouts))]
		} else {
			order := rand.New(rand.NewPCG(cfg.Seed, uint64(epoch))).Perm(len(prompts))
			var batch []RLPrompt
			for _, i := range order[s*cfg.BatchSize : min((s+1)*cfg.BatchSize, len(order))] {
				batch = append(batch, prompts[i])
			}
			var err error
			rs, genTokens, err = cfg.rollouts(ctx, batch, seed)
			if err != nil {
				return res, err
			}
		}
		rollDur := time.Since(tRoll)
		if saveRoll != nil {
			if err := EncodeRollouts(saveRoll, rs); err != nil {
				return res, err
			}
		}
		tUpd := time.Now()
		var st UpdateStats
		var err error
		var rowTokens int
		if cfg.PPO != nil {
			cfg.PPO.Rand = rand.New(rand.NewPCG(seed, 7))
			st, err = cfg.PPO.Step(rs)
		} else {
			st, err = cfg.Group.Step(rs)
		}
		if err != nil {
			return res, fmt.Errorf("native: step %d: %w", step+1, err)
		}
		for _, r := range rs {
			rowTokens += len(r.Prompt) + len(r.Completion)
		}
		updDur := time.Since(tUpd)
		rec := RLStep{Step: step + 1, Epoch: epoch + 1, Rollout: rollDur.Seconds(), Update: updDur.Seconds(), UpdateStats: st}
		if genTokens > 0 {
			rec.RolloutTPS = float64(genTokens) / rollDur.Seconds()
		}
		rec.UpdateTPS = float64(rowTokens) / updDur.Seconds()
		res.Steps = append(res.Steps, rec)
		line, _ := json.Marshal(rec)
		if _, err := logFile.Write(append(line, '\n')); err != nil {
			return res, fmt.Errorf("native: train log: %w", err)
		}
		status := fmt.Sprintf("reward %.3f kl %.4f loss %.4f len %.0f | rollout %.1fs", st.Reward, st.KL, st.Loss, st.Length, rollDur.Seconds())
		if genTokens > 0 {
			status += fmt.Sprintf(" (%.0f tok/s)", rec.RolloutTPS)
		}
		status += fmt.Sprintf(" update %.1fs (%.0f tok/s)", updDur.Seconds(), rec.UpdateTPS)
		bar.Update(step+1, status)
		if cfg.OnStep != nil {
			cfg.OnStep(rec)
		}
		if cfg.SaveInterval > 0 && (step+1)%cfg.SaveInterval == 0 && step+1 < total {
			if err := save(step + 1); err != nil {
				return res, err
			}
		}
	}
	if err := save(total); err != nil {
		return res, err
	}
	bar.Finish(fmt.Sprintf("%d steps", total))
	res.Elapsed = time.Since(t0)
	return res, nil
}

func orDiscard(w io.Writer) io.Writer {
	if w == nil {
		return io.Discard
	}
	return w
}

// rollouts generates and scores the G completions of every prompt.
func (c *RLConfig) rollouts(ctx context.Context, batch []RLPrompt, seed uint64) ([]Rollout, int, error) {
	m := c.policy().Model
	tk := c.Tokenizer
	rng := rand.New(rand.NewPCG(seed, 1))
	var out []Rollout
	if c.Stage != "agent" {
		// GRPO/PPO: the G completions of every prompt of the batch decode together
		prompts := make([][]int32, len(batch)) // [batch] prompt ids
		for i, p := range batch {
			thinking := rng.Float64() < c.ThinkingRatio
			text, err := tk.ApplyChatTemplate(p.Messages, tokenizer.ChatOptions{AddGenerationPrompt: true, Vars: thinkVars(thinking)})
			if err != nil {
				return nil, 0, fmt.Errorf("native: prompt %d: %w", i, err)
			}
			ids := tk.Encode(text)
			if c.MaxSeqLen > 0 && len(ids) > c.MaxSeqLen {
				ids = ids[len(ids)-c.MaxSeqLen:]
			}
			prompts[i] = ids
		}
		comps, t, err := GenerateGroups(ctx, m, prompts, RolloutOptions{G: c.G, MaxTokens: c.MaxGenLen, Sample: c.Sample, Seed: seed})
		if err != nil {
			return nil, 0, err
		}
		for i, p := range batch {
			for _, comp := range comps[i] {
				s := reward.Sample{Messages: p.Messages, Response: tk.DecodeSkipSpecial(comp), GT: p.GT, Tools: c.Tools}
				r, err := c.Reward.Score(ctx, s)
				if err != nil {
					return nil, 0, err
				}
				out = append(out, Rollout{Prompt: prompts[i], Completion: comp, Reward: r})
			}
		}
		return out, t.Tokens, nil
	}
	// agent: every trajectory of the batch rolls out together, turn by turn
	tasks := make([]AgentTask, 0, len(batch)*c.G)
	for i, p := range batch {
		tools, schemas := PromptTools(p, c.Tools)
		for g := range c.G {
			thinking := rng.Float64() < c.ThinkingRatio
			tasks = append(tasks, AgentTask{Messages: p.Messages, Tools: tools, Options: AgentOptions{MaxTurns: max(c.MaxTurns, 1),
				MaxTokens: c.MaxGenLen, Thinking: thinking, Sample: c.Sample, Seed: seed + uint64(i*c.G+g), Schemas: schemas}})
		}
	}
	trs, t, err := AgentRollouts(ctx, m, tk, tasks)
	if err != nil {
		return nil, 0, err
	}
	for k, tr := range trs {
		p := batch[k/c.G]
		s := reward.Sample{Messages: p.Messages, Response: lastOf(tr.Turns), GT: p.GT, Turns: tr.Turns, Unfinished: tr.Unfinished, Tools: tasks[k].Tools}
		r, err := c.Reward.Score(ctx, s)
		if err != nil {
			return nil, 0, err
		}
		tr.Reward = r
		out = append(out, tr.Rollout)
	}
	return out, t.Tokens, nil
}

func lastOf(xs []string) string {
	if len(xs) == 0 {
		return ""
	}
	return xs[len(xs)-1]
}

// readRLLog reads train_log.jsonl, keeping the last record of each step
// (a resumed run rewrites the steps after its checkpoint).
func readRLLog(path string) ([]RLStep, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	byStep := map[int]RLStep{}
	maxStep := 0
	for _, line := range bytes.Split(data, []byte("\n")) {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		var s RLStep
		if json.Unmarshal(line, &s) == nil && s.Step > 0 {
			byStep[s.Step] = s
			maxStep = max(maxStep, s.Step)
		}
	}
	var out []RLStep
	for i := 1; i <= maxStep; i++ {
		if s, ok := byStep[i]; ok {
			out = append(out, s)
		}
	}
	return out, nil
}

// writeRLSVG plots reward and KL per step from the train log.
func writeRLSVG(logPath, svgPath string) error {
	steps, err := readRLLog(logPath)
	if err != nil {
		return fmt.Errorf("native: %w", err)
	}
	var rw, kl []float64
	for _, s := range steps {
		rw = append(rw, s.Reward)
		kl = append(kl, s.KL3)
	}
	var b bytes.Buffer
	RLSVG(&b, rw, kl)
	return checkpoint.WriteFileAtomic(svgPath, b.Bytes())
}

// RLSVG writes two stacked line charts (mean reward and k3 KL per step)
// as a standalone SVG.
func RLSVG(w io.Writer, rewards, kls []float64) {
	const W, H, L, R, T, P = 800, 520, 70, 20, 30, 230
	fmt.Fprintf(w, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="12">`+"\n", W, H, W, H)
	fmt.Fprintln(w, `<rect width="100%" height="100%" fill="white"/>`)
	panel := func(top int, title string, ys []float64, color string) {
		fmt.Fprintf(w, `<text x="%d" y="%d" font-size="14">%s</text>`+"\n", L, top-8, title)
		fmt.Fprintf(w, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#ccc"/>`+"\n", L, top, W-L-R, P)
		lo, hi := math.Inf(1), math.Inf(-1)
		for _, v := range ys {
			if finite(v) {
				lo, hi = min(lo, v), max(hi, v)
			}
		}
		if math.IsInf(lo, 0) {
			fmt.Fprintf(w, `<text x="%d" y="%d">no data</text>`+"\n", W/2-30, top+P/2)
			return
		}
		if hi == lo {
			hi, lo = hi+0.5, lo-0.5
		}
		for _, v := range []float64{lo, (lo + hi) / 2, hi} {
			y := float64(top+P) - (v-lo)/(hi-lo)*float64(P)
			fmt.Fprintf(w, `<text x="%d" y="%.1f" text-anchor="end">%s</text>`+"\n", L-6, y+4, trimFloat(v))
		}
		fmt.Fprintf(w, `<text x="%d" y="%d" text-anchor="end">step %d</text>`+"\n", W-R, top+P+14, len(ys))
		var pts bytes.Buffer
		for i, v := range ys {
			if !finite(v) {
				continue
			}
			x := float64(L) + float64(W-L-R)*(float64(i)+0.5)/float64(len(ys))
			y := float64(top+P) - (v-lo)/(hi-lo)*float64(P)
			fmt.Fprintf(&pts, "%.1f,%.1f ", x, y)
		}
		fmt.Fprintf(w, `<polyline fill="none" stroke="%s" stroke-width="1.5" points="%s"/>`+"\n", color, bytes.TrimSpace(pts.Bytes()))
	}
	panel(T, "mean reward", rewards, "#1f77b4")
	panel(T+P+30, "KL to the reference (k3)", kls, "#d62728")
	fmt.Fprintln(w, "</svg>")
}

// thinkVars are the template variables that open the think block; nil
// when thinking is off (as chat.Bot.Prompt: MiniMind2's template writes an
// empty think block for enable_thinking false, minimind3's for a missing
// open_thinking).
func thinkVars(thinking bool) map[string]any {
	if !thinking {
		return nil
	}
	return map[string]any{"open_thinking": true, "enable_thinking": true}
}
