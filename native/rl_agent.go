package native

import (
	"context"
	"fmt"
	"time"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/tokenizer"
	"github.com/minimind-go/minimind/toolcall"
)

// Trajectory is one multi-turn agent rollout.
type Trajectory struct {
	Rollout             // prompt, completion (generated turns and tool results), mask
	Turns      []string // the text each turn generated
	Unfinished bool     // the last turn still called tools
	Messages   []tokenizer.Message
}

// AgentOptions are the agent stage's rollout settings (train_agent.py).
type AgentOptions struct {
	MaxTurns  int // 3
	MaxTokens int // per turn (max_gen_len)
	Thinking  bool
	Sample    model.SampleOptions
	Seed      uint64
	// Schemas are the tool schemas rendered in the prompt (a conversation's
	// tools list, see PromptTools); nil renders the set's.
	Schemas []any
}

// renderIDs renders msgs with the tool schemas and returns the token ids.
func renderIDs(tk *tokenizer.Tokenizer, msgs []tokenizer.Message, schemas []any, genPrompt, thinking bool) ([]int32, error) {
	text, err := tk.ApplyChatTemplate(msgs, tokenizer.ChatOptions{Tools: schemas, AddGenerationPrompt: genPrompt, Vars: thinkVars(thinking)})
	if err != nil {
		return nil, err
	}
	return tk.Encode(text), nil
}

// AgentRollout runs one trajectory as MiniMind's rollout_single: each turn
// renders the conversation with the tools and the generation prompt and
// generates; the new tokens (without pad and eos, so <|im_end|> is never
// trained) are appended with mask 1; if the text calls tools, the calls run
// (with the set's time limit), their results are appended as tool
// messages, and the re-rendered context's new tokens are appended with
// mask 0. A trajectory whose last allowed turn still calls tools is
// unfinished (its observation is rendered without a generation prompt).
func AgentRollout(ctx context.Context, m *model.Model, tk *tokenizer.Tokenizer, msgs []tokenizer.Message, tools *toolcall.Set, opt AgentOptions) (*Trajectory, RolloutTiming, error) {
	trs, timing, err := AgentRollouts(ctx, m, tk, []AgentTask{{Messages: msgs, Tools: tools, Options: opt}})
	if err != nil {
		return nil, timing, err
	}
	return trs[0], timing, nil
}

// AgentTask is one trajectory to roll out: the conversation, its tools and
// its settings.
type AgentTask struct {
	Messages []tokenizer.Message
	Tools    *toolcall.Set
	Options  AgentOptions
}

// AgentRollouts runs the trajectories of tasks together: at every turn the
// unfinished trajectories generate in one GenerateGroups call (one batched
// step per token over all of them, each at its own position), each with
// the sampler AgentRollout gives it alone (seeded by its Seed and the
// turn), so every trajectory is the one AgentRollout returns for its task.
// The timing counts the generated tokens and the wall time.
func AgentRollouts(ctx context.Context, m *model.Model, tk *tokenizer.Tokenizer, tasks []AgentTask) ([]*Trajectory, RolloutTiming, error) {
	start := time.Now()
	type state struct {
		msgs    []tokenizer.Message
		tools   *toolcall.Set
		schemas []any
		opt     AgentOptions
		ctxIDs  []int32
		done    bool
	}
	sts := make([]*state, len(tasks))
	trs := make([]*Trajectory, len(tasks))
	maxTurns := 0
	for i, task := range tasks {
		st := &state{msgs: append([]tokenizer.Message(nil), task.Messages...), tools: task.Tools, opt: task.Options}
		if st.tools == nil {
			st.tools = toolcall.NewSet()
		}
		st.schemas = st.opt.Schemas
		if st.schemas == nil {
			st.schemas = st.tools.Schemas()
		}
		st.done = st.opt.MaxTurns < 1
		sts[i], trs[i] = st, &Trajectory{}
		maxTurns = max(maxTurns, st.opt.MaxTurns)
	}
	var timing RolloutTiming
	for turn := range maxTurns {
		// Tasks generating this turn, grouped by their generation settings.
		var active []int
		for i, st := range sts {
			if st.done || turn >= st.opt.MaxTurns {
				st.done = true
				continue
			}
			ids, err := renderIDs(tk, st.msgs, st.schemas, true, st.opt.Thinking)
			if err != nil {
				return nil, timing, fmt.Errorf("native: agent: %w", err)
			}
			st.ctxIDs = ids
			if trs[i].Prompt == nil {
				trs[i].Prompt = ids
			}
			active = append(active, i)
		}
		if len(active) == 0 {
			break
		}
		outs := make([][]int32, len(tasks))
		for len(active) > 0 {
			// one call per distinct (MaxTokens, Sample): the tasks of a run share them
			o := sts[active[0]].opt
			var group, rest []int
			for _, i := range active {
				if so := sts[i].opt; so.MaxTokens == o.MaxTokens && so.Sample == o.Sample {
					group = append(group, i)
				} else {
					rest = append(rest, i)
				}
			}
			prompts := make([][]int32, len(group))
			seeds := make([]uint64, len(group))
			for j, i := range group {
				prompts[j] = sts[i].ctxIDs
				seeds[j] = sts[i].opt.Seed*31 + uint64(turn)
			}
			gen, t, err := GenerateGroups(ctx, m, prompts, RolloutOptions{G: 1, MaxTokens: o.MaxTokens, Sample: o.Sample, Seeds: seeds})
			if err != nil {
				return nil, timing, err
			}
			timing.Tokens += t.Tokens
			for j, i := range group {
				outs[i] = gen[j][0]
			}
			active = rest
		}
		for i, st := range sts {
			if st.done {
				continue
			}
			tr := trs[i]
			var ids []int32
			for _, id := range outs[i] {
				if id != m.Config.PAD && id != m.Config.EOS {
					ids = append(ids, id)
				}
			}
			text := tk.DecodeSkipSpecial(outs[i])
			tr.Turns = append(tr.Turns, text)
			tr.Completion = append(tr.Completion, ids...)
			for range ids {
				tr.Mask = append(tr.Mask, 1)
			}
			calls := toolcall.Parse(text)
			if len(calls) == 0 {
				st.done = true
				continue
			}
			tr.Unfinished = turn == st.opt.MaxTurns-1
			st.msgs = append(st.msgs, tokenizer.Message{Role: "assistant", Content: text})
			for _, c := range calls {
				res, _ := st.tools.Run(ctx, c) // failures come back as {"error": ...}
				st.msgs = append(st.msgs, tokenizer.Message{Role: "tool", Content: res})
			}
			obs, err := renderIDs(tk, st.msgs, st.schemas, !tr.Unfinished, st.opt.Thinking)
			if err != nil {
				return nil, timing, fmt.Errorf("native: agent: %w", err)
			}
			if cur := len(tr.Prompt) + len(tr.Completion); cur < len(obs) {
				delta := obs[cur:]
				tr.Completion = append(tr.Completion, delta...)
				for range delta {
					tr.Mask = append(tr.Mask, 0)
				}
			}
		}
	}
	for i, st := range sts {
		trs[i].Messages = st.msgs
	}
	timing.Duration = time.Since(start)
	return trs, timing, nil
}
