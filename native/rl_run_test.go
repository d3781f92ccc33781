package native

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/cpu"
	"github.com/minimind-go/minimind/reward"
	"github.com/minimind-go/minimind/tokenizer"
	"github.com/minimind-go/minimind/toolcall"
)

// TestGenerateGroupMatchesGenerate checks the batched rollout decode: with
// greedy sampling every row equals the single-sequence KV-cache decode.
func TestGenerateGroupMatchesGenerate(t *testing.T) {
	for _, preset := range []string{"tiny3", "tiny3-moe"} {
		t.Run(preset, func(t *testing.T) {
			c := model.Presets()[preset]
			m, err := model.New(c, cpu.New(0), model.InitWeights(c, 3))
			require.NoError(t, err)
			prompt := []int32{1, 40, 41, 42, 43}
			outs, timing, err := GenerateGroup(context.Background(), m, prompt, RolloutOptions{G: 3, MaxTokens: 12, Sample: model.SampleOptions{}})
			require.NoError(t, err)
			want, err := m.Generate(context.Background(), prompt, model.GenerateOptions{MaxTokens: 12, StopTokens: []int32{-1}})
			require.NoError(t, err)
			for g := range 3 {
				assert.Equal(t, want, outs[g], "row %d", g)
			}
			assert.Equal(t, 36, timing.Tokens)
			// sampled rows differ from each other (their own samplers)
			outs, _, err = GenerateGroup(context.Background(), m, prompt, RolloutOptions{G: 3, MaxTokens: 12, Sample: DefaultSample(), Seed: 1})
			require.NoError(t, err)
			assert.False(t, slicesEqual(outs[0], outs[1]) && slicesEqual(outs[1], outs[2]), "three identical sampled rows")
		})
	}
}

// soloDecode is the single-sequence KV-cache decode with one sampler: the
// prompt prefilled alone, then one token at a time, keeping eos.
func soloDecode(t *testing.T, m *model.Model, prompt []int32, sample model.SampleOptions, seed uint64, maxTokens int) []int32 {
	t.Helper()
	cache := m.NewCache(1, len(prompt)+maxTokens)
	defer cache.Free(m.Engine)
	s := model.NewSampler(sample, seed)
	hist := append([]int32(nil), prompt...)
	var out []int32
	next := prompt
	for len(out) < maxTokens {
		logits, err := m.Forward(next, 1, model.ForwardOptions{Cache: cache, LastOnly: true}) // [1, V]
		require.NoError(t, err)
		id := s.Sample(m.Engine.Read(logits), hist)
		m.Engine.Free(logits)
		out = append(out, id)
		hist = append(hist, id)
		if id == m.Config.EOS {
			break
		}
		next = []int32{id}
	}
	return out
}

// TestGenerateGroupsMatchesSolo checks the rollout decode batched across
// prompts: three prompts of different lengths (so each sequence decodes at
// its own position) × G = 3 completions, sampled with MiniMind's settings;
// every completion is bit for bit the single-sequence decode of its prompt
// with its own seeded sampler, including when some rows stop at eos early
// and leave the batch, and one prompt alone (GenerateGroup) gives the same
// completions as in the batch.
func TestGenerateGroupsMatchesSolo(t *testing.T) {
	prompts := [][]int32{{1, 40, 41, 42, 43}, {1, 50, 51, 52, 53, 54, 55, 56, 57}, {1, 60, 61}}
	const G, N, seed = 3, 10, 7
	for _, preset := range []string{"tiny3", "tiny3-moe", "tiny"} {
		for _, early := range []bool{false, true} {
			name := preset
			if early {
				name += "/eos"
			}
			t.Run(name, func(t *testing.T) {
				c := model.Presets()[preset]
				m, err := model.New(c, cpu.New(0), model.InitWeights(c, 5))
				require.NoError(t, err)
				if early { // make a token that the first row emits third the eos
					first := soloDecode(t, m, prompts[0], DefaultSample(), rowSeed(seed, 0), N)
					c.EOS = first[2]
					m, err = model.New(c, cpu.New(0), model.InitWeights(c, 5))
					require.NoError(t, err)
				}
				outs, timing, err := GenerateGroups(context.Background(), m, prompts, RolloutOptions{G: G, MaxTokens: N, Sample: DefaultSample(), Seed: seed})
				require.NoError(t, err)
				require.Len(t, outs, len(prompts))
				total, stopped := 0, 0
				for p := range prompts {
					require.Len(t, outs[p], G)
					for g := range G {
						want := soloDecode(t, m, prompts[p], DefaultSample(), rowSeed(seed+uint64(p), g), N)
						assert.Equal(t, want, outs[p][g], "prompt %d row %d", p, g)
						total += len(outs[p][g])
						if len(outs[p][g]) < N {
							stopped++
						}
					}
				}
				assert.Equal(t, total, timing.Tokens)
				if early {
					assert.Positive(t, stopped, "no row stopped at eos")
				}
				alone, _, err := GenerateGroup(context.Background(), m, prompts[1], RolloutOptions{G: G, MaxTokens: N, Sample: DefaultSample(), Seed: seed + 1})
				require.NoError(t, err)
				assert.Equal(t, outs[1], alone)
			})
		}
	}
}

func slicesEqual(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func rlFixture(t *testing.T) (model.Config, *model.Weights, *tokenizer.Tokenizer, []RLPrompt) {
	t.Helper()
	tk := loadFixtureTokenizer(t, "minimind3")
	c := model.Presets()["tiny3"]
	host := model.InitWeights(c, 11)
	var prompts []RLPrompt
	for _, q := range []string{"What is a dog?", "What is a cat?", "Define tree.", "Define river.", "What is salt?", "Name a color."} {
		prompts = append(prompts, RLPrompt{Messages: []tokenizer.Message{{Role: "user", Content: q}}, GT: []string{"animal", "plant"}})
	}
	return c, host, tk, prompts
}

func newGroupRun(t *testing.T, c model.Config, host *model.Weights, tk *tokenizer.Tokenizer, dir string, r *Resume) RLConfig {
	t.Helper()
	w := host
	if r != nil {
		w = r.Weights
	}
	m, err := model.New(c, cpu.New(0), w)
	require.NoError(t, err)
	ref, err := model.New(c, cpu.New(0), host)
	require.NoError(t, err)
	o := DefaultOptim()
	tr, err := NewTrainer(m, o)
	require.NoError(t, err)
	if r != nil {
		require.NoError(t, tr.Restore(r))
	}
	return RLConfig{Stage: "grpo", Epochs: 2, BatchSize: 2, G: 3, MaxSeqLen: 64, MaxGenLen: 6, ThinkingRatio: 0.5,
		Sample: DefaultSample(), Seed: 5, LR: 1e-3, Tokenizer: tk,
		Reward: reward.Sum{{Weight: 1, Func: reward.Rule{}}, {Weight: 2, Func: reward.Contains{}}},
		Group: &GroupUpdate{Policy: tr, Ref: ref, G: 3, Sched: RLSchedule{LR: 1e-3, TMax: 6},
			Loss: PolicyLoss{Kind: CISPO, Beta: 0.1, Eps: 0.2, EpsHigh: 5}},
		OutDir: filepath.Join(dir, "grpo_64"), ResumePath: filepath.Join(dir, "grpo_64_resume.safetensors"), Resume: r}
}

// TestRunRLResumeAndReplay runs GRPO for 6 steps (2 epochs of 3), then
// (a) an interrupted run resumed from its checkpoint ends with the same
// weights bit for bit, and (b) replaying the saved rollouts with
// --from_rollouts reproduces the generating run's weights bit for bit.
func TestRunRLResumeAndReplay(t *testing.T) {
	c, host, tk, prompts := rlFixture(t)
	ctx := context.Background()

	dirA := t.TempDir()
	cfgA := newGroupRun(t, c, host, tk, dirA, nil)
	cfgA.SaveRollouts = filepath.Join(dirA, "rollouts.jsonl")
	resA, err := RunRL(ctx, prompts, cfgA)
	require.NoError(t, err)
	require.Len(t, resA.Steps, 6)
	wantW := hostMap(c, cfgA.Group.Policy.HostWeights())
	for _, s := range resA.Steps {
		assert.Greater(t, s.Length, 0.0)
		assert.Greater(t, s.UpdateTPS, 0.0)
		assert.Greater(t, s.RolloutTPS, 0.0)
	}
	logged, err := readRLLog(filepath.Join(cfgA.OutDir, "train_log.jsonl"))
	require.NoError(t, err)
	require.Len(t, logged, 6)
	assert.FileExists(t, filepath.Join(cfgA.OutDir, "rl.svg"))
	assert.FileExists(t, filepath.Join(cfgA.OutDir, "model.safetensors"))

	// (a) interrupted after step 2, resumed.
	dirB := t.TempDir()
	cctx, cancel := context.WithCancel(ctx)
	cfgB := newGroupRun(t, c, host, tk, dirB, nil)
	cfgB.OnStep = func(s RLStep) {
		if s.Step == 2 {
			cancel()
		}
	}
	_, err = RunRL(cctx, prompts, cfgB)
	require.True(t, errors.Is(err, ErrRLInterrupted), "%v", err)
	r, err := LoadResume(cfgB.ResumePath)
	require.NoError(t, err)
	require.Equal(t, 2, r.State.Step)
	cfgB2 := newGroupRun(t, c, host, tk, dirB, r)
	resB, err := RunRL(ctx, prompts, cfgB2)
	require.NoError(t, err)
	require.Len(t, resB.Steps, 4)
	assert.Equal(t, wantW, hostMap(c, cfgB2.Group.Policy.HostWeights()), "resumed weights differ")
	logged, err = readRLLog(filepath.Join(cfgB2.OutDir, "train_log.jsonl"))
	require.NoError(t, err)
	require.Len(t, logged, 6)
	for i := range logged {
		assert.Equal(t, resA.Steps[i].Reward, logged[i].Reward, "step %d reward", i+1)
		assert.Equal(t, resA.Steps[i].Loss, logged[i].Loss, "step %d loss", i+1)
	}

	// (b) replay.
	rs, err := ReadRollouts(cfgA.SaveRollouts)
	require.NoError(t, err)
	require.Len(t, rs, 6*2*3) // 6 steps × 2 prompts × 3 completions
	dirC := t.TempDir()
	cfgC := newGroupRun(t, c, host, tk, dirC, nil)
	cfgC.Epochs = 1
	cfgC.Group.Sched.TMax = 6
	cfgC.FromRollouts = rs
	_, err = RunRL(ctx, nil, cfgC)
	require.NoError(t, err)
	assert.Equal(t, wantW, hostMap(c, cfgC.Group.Policy.HostWeights()), "replayed weights differ")
}

// TestAgentRollout runs multi-turn rollouts of a random model: the mask
// marks exactly the generated tokens, and tool results (rendered through the
// chat template inside <tool_response>) are masked out.
func TestAgentRollout(t *testing.T) {
	c, host, tk, _ := rlFixture(t)
	m, err := model.New(c, cpu.New(0), host)
	require.NoError(t, err)
	tools := toolcall.NewSet(toolcall.Calculator{})
	msgs := []tokenizer.Message{{Role: "user", Content: "What is 6*7?"}}
	tr, _, err := AgentRollout(context.Background(), m, tk, msgs, tools, AgentOptions{MaxTurns: 3, MaxTokens: 8, Sample: DefaultSample(), Seed: 1})
	require.NoError(t, err)
	require.Len(t, tr.Mask, len(tr.Completion))
	require.NotEmpty(t, tr.Turns)
	for i, id := range tr.Completion {
		if tr.Mask[i] == 1 {
			assert.NotEqual(t, c.EOS, id, "a trained <|im_end|>")
		}
	}
	full, err := renderIDs(tk, msgs, tools.Schemas(), true, false)
	require.NoError(t, err)
	assert.Equal(t, full, tr.Prompt)
	text, err := tk.ApplyChatTemplate(msgs, tokenizer.ChatOptions{Tools: tools.Schemas(), AddGenerationPrompt: true})
	require.NoError(t, err)
	assert.True(t, strings.Contains(text, "calculate_math"), "tools in the system block")
}

func newPPORun(t *testing.T, c model.Config, host *model.Weights, tk *tokenizer.Tokenizer, dir string, r *Resume) RLConfig {
	t.Helper()
	w := host
	if r != nil {
		w = r.Weights
	}
	m, err := model.New(c, cpu.New(0), w)
	require.NoError(t, err)
	ref, err := model.New(c, cpu.New(0), host)
	require.NoError(t, err)
	tr, err := NewTrainer(m, DefaultOptim())
	require.NoError(t, err)
	hw := make([]float32, c.Hidden)
	for i := range hw {
		hw[i] = 0.01 * float32(i%7-3)
	}
	cr, err := NewCritic(c, host, cpu.New(0), hw, 0.05, DefaultOptim())
	require.NoError(t, err)
	resume := filepath.Join(dir, "ppo_64_resume.safetensors")
	if r != nil {
		require.NoError(t, tr.Restore(r))
		require.NoError(t, cr.LoadResume(resume+".critic"))
	}
	return RLConfig{Stage: "ppo", Epochs: 1, BatchSize: 2, G: 1, MaxSeqLen: 64, MaxGenLen: 6, ThinkingRatio: 0.5,
		Sample: DefaultSample(), Seed: 9, LR: 1e-3, Tokenizer: tk, Reward: reward.Rule{},
		PPO: &PPOUpdate{Actor: tr, Critic: cr, Ref: ref, Eps: 0.2, KLCoef: 0.02, VFCoef: 0.5, ClipValue: 0.2, Gamma: 1, Lambda: 0.95,
			Iters: 2, MiniBatch: 1, EarlyStopKL: 0.25, ActorSched: RLSchedule{LR: 1e-3, TMax: 12}, CriticSched: RLSchedule{LR: 2e-3, TMax: 12}},
		OutDir: filepath.Join(dir, "ppo_64"), ResumePath: resume, Resume: r}
}

// TestRunPPOResume interrupts a PPO run after its first step and resumes
// it (actor and critic, weights and AdamW moments): the final actor and
// critic equal the uninterrupted run's bit for bit.
func TestRunPPOResume(t *testing.T) {
	c, host, tk, prompts := rlFixture(t)
	ctx := context.Background()
	cfgA := newPPORun(t, c, host, tk, t.TempDir(), nil)
	_, err := RunRL(ctx, prompts, cfgA)
	require.NoError(t, err)
	wantA := hostMap(c, cfgA.PPO.Actor.HostWeights())
	wantV, wantB := cfgA.PPO.Critic.Head()

	dirB := t.TempDir()
	cctx, cancel := context.WithCancel(ctx)
	cfgB := newPPORun(t, c, host, tk, dirB, nil)
	cfgB.OnStep = func(s RLStep) {
		if s.Step == 1 {
			cancel()
		}
	}
	_, err = RunRL(cctx, prompts, cfgB)
	require.ErrorIs(t, err, ErrRLInterrupted)
	r, err := LoadResume(cfgB.ResumePath)
	require.NoError(t, err)
	cfgB2 := newPPORun(t, c, host, tk, dirB, r)
	_, err = RunRL(ctx, prompts, cfgB2)
	require.NoError(t, err)
	assert.Equal(t, wantA, hostMap(c, cfgB2.PPO.Actor.HostWeights()), "actor")
	gotV, gotB := cfgB2.PPO.Critic.Head()
	assert.Equal(t, wantV, gotV, "value head")
	assert.Equal(t, wantB, gotB)
	assert.FileExists(t, filepath.Join(cfgB2.OutDir+"_critic", "value_head.safetensors"))
}

// TestReadRLPromptsTools reads the agent data's tools list from where
// MiniMind's AgentRLDataset takes it (a system message's "tools", a JSON
// list or a string holding one) or the row's "tools", and names the line
// of a malformed one.
func TestReadRLPromptsTools(t *testing.T) {
	calc := `{"type":"function","function":{"name":"calculate_math","parameters":{"type":"object","properties":{"expression":{"type":"string"}},"required":["expression"]}}}`
	weather := `{"type":"function","function":{"name":"get_current_weather","parameters":{}}}`
	quoted := strings.ReplaceAll(`[`+calc+`,`+weather+`]`, `"`, `\"`)
	for _, tc := range []struct {
		name, line string
		want       []string // tool names
		err        string
	}{
		{"system list", `{"conversations":[{"role":"system","content":"s","tools":[` + calc + `]},{"role":"user","content":"q"}],"gt":["42"]}`, []string{"calculate_math"}, ""},
		{"system string", `{"conversations":[{"role":"system","content":"s","tools":"` + quoted + `"},{"role":"user","content":"q"}],"gt":["42"]}`, []string{"calculate_math", "get_current_weather"}, ""},
		{"row tools", `{"conversations":[{"role":"user","content":"q"}],"tools":[` + weather + `]}`, []string{"get_current_weather"}, ""},
		{"system wins", `{"conversations":[{"role":"system","content":"s","tools":[` + calc + `]},{"role":"user","content":"q"}],"tools":[` + weather + `]}`, []string{"calculate_math"}, ""},
		{"empty", `{"conversations":[{"role":"system","content":"s","tools":""},{"role":"user","content":"q"}]}`, nil, ""},
		{"none", `{"conversations":[{"role":"user","content":"q"}]}`, nil, ""},
		{"not a list", `{"conversations":[{"role":"system","content":"s","tools":{"a":1}},{"role":"user","content":"q"}]}`, nil, "x.jsonl:2: conversations[0].tools"},
		{"no name", `{"conversations":[{"role":"user","content":"q"}],"tools":[{"type":"function"}]}`, nil, "x.jsonl:2: tools: tool 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ps, err := ReadRLPrompts(strings.NewReader("\n"+tc.line+"\n"), "x.jsonl")
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			require.Len(t, ps, 1)
			var names []string
			for _, s := range ps[0].Tools {
				n, err := toolcall.SchemaName(s)
				require.NoError(t, err)
				names = append(names, n)
			}
			assert.Equal(t, tc.want, names)
		})
	}
}

// TestPromptToolsOffered checks that a conversation's tools list is what
// the agent stage offers: the prompt renders exactly the listed schemas
// through the chat template, only listed tools the stage holds are callable
// (an unlisted one gets MiniMind's {"error": "tool not found"} and is not a
// valid call for the reward), and without a list the stage's tools are
// offered.
func TestPromptToolsOffered(t *testing.T) {
	c, host, tk, _ := rlFixture(t)
	m, err := model.New(c, cpu.New(0), host)
	require.NoError(t, err)
	all := toolcall.NewSet(toolcall.Calculator{}, toolcall.UnitConverter{})
	line := `{"conversations":[{"role":"system","content":"You can use tools.","tools":[` +
		`{"type":"function","function":{"name":"calculate_math","description":"calc","parameters":{"type":"object","properties":{"expression":{"type":"string"}},"required":["expression"]}}},` +
		`{"type":"function","function":{"name":"get_current_weather","description":"weather","parameters":{"type":"object","properties":{"location":{"type":"string"}},"required":["location"]}}}]},` +
		`{"role":"user","content":"What is 6*7?"}],"gt":["42"]}`
	ps, err := ReadRLPrompts(strings.NewReader(line), "agent.jsonl")
	require.NoError(t, err)
	tools, schemas := PromptTools(ps[0], all)
	assert.Equal(t, []string{"calculate_math"}, tools.Names())
	require.Len(t, schemas, 2)

	tr, _, err := AgentRollout(context.Background(), m, tk, ps[0].Messages, tools, AgentOptions{MaxTurns: 1, MaxTokens: 4, Sample: DefaultSample(), Seed: 1, Schemas: schemas})
	require.NoError(t, err)
	text := tk.Decode(tr.Prompt)
	assert.Contains(t, text, `"name": "calculate_math"`)
	assert.Contains(t, text, `"name": "get_current_weather"`)
	assert.NotContains(t, text, "unit_converter")
	want, err := tk.ApplyChatTemplate(ps[0].Messages, tokenizer.ChatOptions{Tools: schemas, AddGenerationPrompt: true, Vars: thinkVars(false)})
	require.NoError(t, err)
	assert.Equal(t, tk.Encode(want), tr.Prompt)

	for _, call := range []toolcall.Call{
		{Name: "unit_converter", Arguments: map[string]any{"value": 1.0, "from_unit": "km", "to_unit": "miles"}}, // held, not listed
		{Name: "get_current_weather", Arguments: map[string]any{"location": "Paris"}},                            // listed, not held
	} {
		res, err := tools.Run(context.Background(), call)
		require.ErrorIs(t, err, toolcall.ErrNotFound)
		assert.Equal(t, `{"error": "tool not found"}`, res)
		assert.False(t, tools.Valid(call))
	}
	res, err := tools.Run(context.Background(), toolcall.Call{Name: "calculate_math", Arguments: map[string]any{"expression": "6*7"}})
	require.NoError(t, err)
	assert.Contains(t, res, "42")
	ok, err := reward.Agent{}.Score(context.Background(), reward.Sample{Turns: []string{`<tool_call>{"name":"unit_converter","arguments":{"value":1,"from_unit":"km","to_unit":"miles"}}</tool_call>`, "42"}, GT: []string{"42"}, Tools: all})
	require.NoError(t, err)
	bad, err := reward.Agent{}.Score(context.Background(), reward.Sample{Turns: []string{`<tool_call>{"name":"unit_converter","arguments":{"value":1,"from_unit":"km","to_unit":"miles"}}</tool_call>`, "42"}, GT: []string{"42"}, Tools: tools})
	require.NoError(t, err)
	assert.Less(t, bad, ok, "an unlisted tool's call is not valid")

	none, noneSchemas := PromptTools(RLPrompt{Messages: ps[0].Messages}, all)
	assert.Equal(t, all.Names(), none.Names())
	assert.Len(t, noneSchemas, 2)
}

// TestAgentRolloutsMatchOneByOne checks the agent's batched rollouts: the
// trajectories of several conversations (different tools, seeds, thinking,
// turn and token limits, so that one turn runs two generation groups) come
// out exactly as AgentRollout gives each alone.
func TestAgentRolloutsMatchOneByOne(t *testing.T) {
	c, host, tk, _ := rlFixture(t)
	m, err := model.New(c, cpu.New(0), host)
	require.NoError(t, err)
	calc := toolcall.NewSet(toolcall.Calculator{})
	both := toolcall.NewSet(toolcall.Calculator{}, toolcall.UnitConverter{})
	var tasks []AgentTask
	for k, q := range []string{"What is 6*7?", "Convert 3 km to miles.", "What is a dog?"} {
		for g := range 2 {
			o := AgentOptions{MaxTurns: 3, MaxTokens: 6, Thinking: g == 1, Sample: DefaultSample(), Seed: uint64(10*k + g)}
			tools := calc
			if k == 1 {
				tools, o.MaxTokens = both, 9
			}
			tasks = append(tasks, AgentTask{Messages: []tokenizer.Message{{Role: "user", Content: q}}, Tools: tools, Options: o})
		}
	}
	tasks = append(tasks, AgentTask{Messages: tasks[0].Messages, Tools: calc, Options: AgentOptions{MaxTurns: 0, MaxTokens: 6}})
	trs, timing, err := AgentRollouts(context.Background(), m, tk, tasks)
	require.NoError(t, err)
	require.Len(t, trs, len(tasks))
	total := 0
	for i, task := range tasks {
		want, _, err := AgentRollout(context.Background(), m, tk, task.Messages, task.Tools, task.Options)
		require.NoError(t, err)
		assert.Equal(t, want, trs[i], "task %d", i)
		for _, v := range trs[i].Mask {
			total += int(v)
		}
	}
	assert.Empty(t, trs[len(tasks)-1].Turns, "no turn allowed")
	assert.GreaterOrEqual(t, timing.Tokens, total)
}

// plainEngine hides the CPU engine's batch-invariant row ops, as the GPU
// engines lack them.
type plainEngine struct{ model.Engine }

// TestGenerateGroupsWithoutRowEngine checks the rollout decode on an engine
// without model.RowEngine: each prompt's G rows decode over one G-row KV
// cache (as ForwardStep would otherwise go sequence by sequence); with
// greedy sampling every row equals the single-sequence decode, and sampled
// rows keep their own seeded samplers.
func TestGenerateGroupsWithoutRowEngine(t *testing.T) {
	prompts := [][]int32{{1, 40, 41, 42, 43}, {1, 50, 51, 52, 53, 54, 55, 56, 57}}
	for _, preset := range []string{"tiny3", "tiny3-moe"} {
		t.Run(preset, func(t *testing.T) {
			c := model.Presets()[preset]
			m, err := model.New(c, plainEngine{cpu.New(0)}, model.InitWeights(c, 3))
			require.NoError(t, err)
			_, isRow := m.Engine.(model.RowEngine)
			require.False(t, isRow)
			outs, timing, err := GenerateGroups(context.Background(), m, prompts, RolloutOptions{G: 3, MaxTokens: 8})
			require.NoError(t, err)
			for p, prompt := range prompts {
				want, err := m.Generate(context.Background(), prompt, model.GenerateOptions{MaxTokens: 8, StopTokens: []int32{-1}})
				require.NoError(t, err)
				for g := range 3 {
					assert.Equal(t, want, outs[p][g], "prompt %d row %d", p, g)
				}
			}
			assert.Equal(t, 2*3*8, timing.Tokens)
			outs, _, err = GenerateGroups(context.Background(), m, prompts, RolloutOptions{G: 3, MaxTokens: 8, Sample: DefaultSample(), Seeds: []uint64{4, 9}})
			require.NoError(t, err)
			alone, _, err := GenerateGroup(context.Background(), m, prompts[1], RolloutOptions{G: 3, MaxTokens: 8, Sample: DefaultSample(), Seed: 9})
			require.NoError(t, err)
			assert.Equal(t, alone, outs[1])
			assert.False(t, slicesEqual(outs[0][0], outs[0][1]) && slicesEqual(outs[0][1], outs[0][2]), "three identical sampled rows")
		})
	}
}
