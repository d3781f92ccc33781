package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/checkpoint"
	"github.com/minimind-go/minimind/native"
)

// rlSetup writes a tiny minimind3 SFT checkpoint with the real tokenizer
// and a prompt file.
func rlSetup(t *testing.T) (dir, data string) {
	t.Helper()
	dir = t.TempDir()
	c := model.Presets()["tiny3"]
	sft := filepath.Join(dir, "full_sft_64")
	require.NoError(t, checkpoint.Save(sft, c, model.InitWeights(c, 1), checkpoint.SaveOptions{}))
	for _, n := range []string{"tokenizer.json", "tokenizer_config.json"} {
		b, err := os.ReadFile(filepath.Join(fixtures, "minimind3", n))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(sft, n), b, 0o644))
	}
	data = filepath.Join(dir, "rl.jsonl")
	lines := `{"conversations":[{"role":"user","content":"What is 2+3?"},{"role":"assistant","content":"无"}],"gt":["5"]}
{"conversations":[{"role":"user","content":"Convert 3 km to miles."},{"role":"assistant","content":"无"}],"gt":["1.8641"]}
{"conversations":[{"role":"user","content":"What is a dog?"}],"gt":"animal"}
{"conversations":[{"role":"system","content":"Use tools.","tools":"[{\"type\":\"function\",\"function\":{\"name\":\"calculate_math\",\"parameters\":{\"type\":\"object\",\"properties\":{\"expression\":{\"type\":\"string\"}},\"required\":[\"expression\"]}}}]"},{"role":"user","content":"What is 6*7?"}],"gt":["42"]}
`
	require.NoError(t, os.WriteFile(data, []byte(lines), 0o644))
	return dir, data
}

func TestRLCommands(t *testing.T) {
	dir, data := rlSetup(t)
	ctx := context.Background()
	common := []string{"--data_path", data, "--save_dir", dir, "--max_gen_len", "5", "--batch_size", "2", "--threads", "2", "--learning_rate", "1e-4"}
	for _, tc := range []struct {
		stage string
		args  []string
	}{
		{"grpo", []string{"--num_generations", "2", "--reward", "rule,contains:2", "--save_rollouts", filepath.Join(dir, "r.jsonl")}},
		{"grpo", []string{"--num_generations", "2", "--loss_type", "grpo", "--save_weight", "grpo_replay", "--from_rollouts", filepath.Join(dir, "r.jsonl")}},
		{"ppo", []string{"--mini_batch_size", "1"}},
		{"agent", []string{"--num_generations", "2", "--max_total_len", "300", "--save_rollouts", filepath.Join(dir, "a.jsonl")}},
		{"agent", []string{"--num_generations", "2", "--max_total_len", "300", "--save_weight", "agent_replay", "--from_rollouts", filepath.Join(dir, "a.jsonl")}},
	} {
		t.Run(tc.stage, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := run(ctx, append(append([]string{tc.stage}, common...), tc.args...), &out, &errb)
			require.NoError(t, err, errb.String())
			assert.Contains(t, out.String(), "saved ")
			assert.Contains(t, errb.String(), "rollout")
		})
	}
	steps, err := os.ReadFile(filepath.Join(dir, "grpo_64", "train_log.jsonl"))
	require.NoError(t, err)
	assert.Equal(t, 2, strings.Count(string(steps), "\n"))
	assert.FileExists(t, filepath.Join(dir, "grpo_replay_64", "model.safetensors"))
	// agent rollouts carry the mask of generated tokens; the replay trains on them
	ar, err := native.ReadRollouts(filepath.Join(dir, "a.jsonl"))
	require.NoError(t, err)
	require.Len(t, ar, 4*2) // 4 prompts × 2 trajectories
	for _, r := range ar {
		require.Len(t, r.Mask, len(r.Completion))
	}
	assert.FileExists(t, filepath.Join(dir, "agent_replay_64", "model.safetensors"))
	assert.FileExists(t, filepath.Join(dir, "ppo_actor_64_critic", "value_head.safetensors"))
	assert.FileExists(t, filepath.Join(dir, "ppo_actor_64", "rl.svg"))
	r, err := native.LoadResume(filepath.Join(dir, "ppo_actor_64_resume.safetensors"))
	require.NoError(t, err)
	assert.Equal(t, 1, r.State.Epoch)

	// usage errors
	var errb bytes.Buffer
	err = run(ctx, []string{"grpo", "--loss_type", "dpo"}, &bytes.Buffer{}, &errb)
	require.ErrorIs(t, err, errUsage)
	err = run(ctx, []string{"grpo", "--reward", "nope"}, &bytes.Buffer{}, &errb)
	require.ErrorIs(t, err, errUsage)
	err = run(ctx, []string{"grpo", "--reward", "url"}, &bytes.Buffer{}, &errb)
	require.ErrorIs(t, err, errUsage)
}

// TestZeroGRPOSmoke runs the zero-grpo stage on the embedded Zero model
// with a handful of questions: screening, GRPO, evaluation and the report.
func TestZeroGRPOSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the embedded model")
	}
	dir := t.TempDir()
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"zero-grpo", "--out", dir, "--train_words", "2", "--epochs", "1", "--eval_items", "4",
		"--num_generations", "2", "--max_gen_len", "8", "--screen_samples", "0", "--threads", "2"}, &out, &errb)
	require.NoError(t, err, errb.String())
	assert.Contains(t, out.String(), "held-out definition accuracy")
	b, err := os.ReadFile(filepath.Join(dir, "report.json"))
	require.NoError(t, err)
	assert.Contains(t, string(b), `"accuracy_after"`)
	assert.FileExists(t, filepath.Join(dir, "zero_grpo", "rl.svg"))
}
