package native

import (
	"context"
	"fmt"

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
	msgs = append([]tokenizer.Message(nil), msgs...)
	if tools == nil {
		tools = toolcall.NewSet()
	}
	schemas := opt.Schemas
	if schemas == nil {
		schemas = tools.Schemas()
	}
	tr := &Trajectory{}
	var timing RolloutTiming
	for turn := range opt.MaxTurns {
		ctxIDs, err := renderIDs(tk, msgs, schemas, true, opt.Thinking)
		if err != nil {
			return nil, timing, fmt.Errorf("native: agent: %w", err)
		}
		if tr.Prompt == nil {
			tr.Prompt = ctxIDs
		}
		// Generate from the rendered context (its prefix is the trajectory so far).
		outs, t, err := GenerateGroup(ctx, m, ctxIDs, RolloutOptions{G: 1, MaxTokens: opt.MaxTokens, Sample: opt.Sample, Seed: opt.Seed*31 + uint64(turn)})
		if err != nil {
			return nil, timing, err
		}
		timing.Tokens += t.Tokens
		timing.Duration += t.Duration
		var gen []int32
		for _, id := range outs[0] {
			if id != m.Config.PAD && id != m.Config.EOS {
				gen = append(gen, id)
			}
		}
		text := tk.DecodeSkipSpecial(outs[0])
		tr.Turns = append(tr.Turns, text)
		tr.Completion = append(tr.Completion, gen...)
		for range gen {
			tr.Mask = append(tr.Mask, 1)
		}
		calls := toolcall.Parse(text)
		if len(calls) == 0 {
			break
		}
		tr.Unfinished = turn == opt.MaxTurns-1
		msgs = append(msgs, tokenizer.Message{Role: "assistant", Content: text})
		for _, c := range calls {
			res, _ := tools.Run(ctx, c) // failures come back as {"error": ...}
			msgs = append(msgs, tokenizer.Message{Role: "tool", Content: res})
		}
		obs, err := renderIDs(tk, msgs, schemas, !tr.Unfinished, opt.Thinking)
		if err != nil {
			return nil, timing, fmt.Errorf("native: agent: %w", err)
		}
		cur := len(tr.Prompt) + len(tr.Completion)
		if cur < len(obs) {
			delta := obs[cur:]
			tr.Completion = append(tr.Completion, delta...)
			for range delta {
				tr.Mask = append(tr.Mask, 0)
			}
		}
	}
	tr.Messages = msgs
	return tr, timing, nil
}
