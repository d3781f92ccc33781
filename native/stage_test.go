package native

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/checkpoint"
	"github.com/minimind-go/minimind/model/cpu"
	"github.com/minimind-go/minimind/model/safetensors"
)

// stageFixture writes a tiny3 "full_sft" checkpoint, a tiny3-moe teacher
// and small data files for every post-training stage (each with one
// malformed line) into a temporary folder.
func stageFixture(t *testing.T) (dir, tok string) {
	t.Helper()
	dir = t.TempDir()
	tok = filepath.Join("..", "testdata", "minimind", "minimind3")
	cfg, err := model.Preset("tiny3")
	require.NoError(t, err)
	require.NoError(t, checkpoint.Save(filepath.Join(dir, RunName("full_sft", cfg)), cfg, model.InitWeights(cfg, 11), checkpoint.SaveOptions{}))
	tcfg, _ := model.Preset("tiny3-moe")
	require.NoError(t, checkpoint.Save(filepath.Join(dir, RunName("teacher", tcfg)), tcfg, model.InitWeights(tcfg, 12), checkpoint.SaveOptions{}))

	var sft, dpo, reason strings.Builder
	for i := range 10 {
		if i == 3 {
			sft.WriteString("{\"conversations\": 5}\n")
			dpo.WriteString("{\"chosen\": []}\n")
			reason.WriteString("not json\n")
		}
		fmt.Fprintf(&sft, `{"conversations":[{"role":"user","content":"Who are you %d?"},{"role":"assistant","content":"I am Zed, a tiny model %d."}]}`+"\n", i, i)
		fmt.Fprintf(&dpo, `{"chosen":[{"role":"user","content":"What is %d+1?"},{"role":"assistant","content":"It is %d."}],`+
			`"rejected":[{"role":"user","content":"What is %d+1?"},{"role":"assistant","content":"It is it is it is."}]}`+"\n", i, i+1, i)
		fmt.Fprintf(&reason, `{"conversations":[{"role":"user","content":"Add %d and 2."},{"role":"assistant","reasoning_content":"%d plus 2 is %d.","content":"%d"}]}`+"\n", i, i, i+2, i+2)
	}
	for name, s := range map[string]string{"sft.jsonl": sft.String(), "dpo.jsonl": dpo.String(), "reason.jsonl": reason.String()} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(s), 0o644))
	}
	return dir, tok
}

func stageConfig(stage Stage, dir, tok string, logs *strings.Builder) StageConfig {
	arch, _ := model.Preset("tiny3")
	data := map[Stage]string{StageLoRA: "sft.jsonl", StageDPO: "dpo.jsonl", StageDistill: "sft.jsonl", StageReason: "reason.jsonl"}[stage]
	var mu sync.Mutex
	return StageConfig{Stage: stage, DataPath: filepath.Join(dir, data), Epochs: 2, BatchSize: 2, Accum: 2, MaxSeqLen: 48,
		LR: 1e-3, Clip: 1, Arch: arch, FromWeight: "full_sft", SaveDir: dir, SaveWeight: string(stage), LogInterval: 1,
		Tokenizer: tok, Shuffle: true, Seed: 7, Threads: 1, Engine: cpu.New(1),
		LoRA:    LoRAConfig{Rank: 4, Targets: []string{"q_proj", "v_proj", "gate_proj"}},
		DPO:     DPOConfig{Beta: 0.15},
		Distill: DistillConfig{Teacher: "teacher", TeacherMoE: true, Alpha: 0.5, Temp: 1.5},
		Reason:  ReasonConfig{Tags: []string{"<think>", "</think>"}, Weight: 10},
		Log: func(s string) {
			mu.Lock()
			logs.WriteString(s + "\n")
			mu.Unlock()
		}}
}

// trained reads what a stage run trained: the adapters (LoRA) or the weights.
func trained(t *testing.T, res *StageResult) map[string][]float32 {
	t.Helper()
	path := filepath.Join(res.OutDir, checkpoint.SafetensorsFile)
	if res.Adapters != "" {
		path = res.Adapters + ".safetensors"
	}
	ts, _, err := safetensors.ReadFile(path)
	require.NoError(t, err)
	out := map[string][]float32{}
	for _, x := range ts {
		out[x.Name] = x.Data
	}
	return out
}

// TestStagesResumeExact runs every post-training stage for two epochs,
// then again stopped after 3 micro-steps and resumed, and requires the same
// per-step losses and the same trained tensors bit for bit. It also checks
// the reported bad line, train_log.jsonl, loss.svg and the stage outputs.
func TestStagesResumeExact(t *testing.T) {
	dir, tok := stageFixture(t)
	for _, stage := range []Stage{StageLoRA, StageDPO, StageDistill, StageReason} {
		t.Run(string(stage), func(t *testing.T) {
			var logs strings.Builder
			sc := stageConfig(stage, dir, tok, &logs)
			full, err := TrainStage(context.Background(), sc)
			require.NoError(t, err, logs.String())
			require.Contains(t, logs.String(), "line 4", "the malformed line is reported")
			require.Len(t, full.Run.Losses, 2*5, "2 epochs of 10 samples (or pairs) in micro-batches of 2")
			for _, f := range []string{"train_log.jsonl", "loss.svg"} {
				require.FileExists(t, filepath.Join(full.OutDir, f))
			}
			want := trained(t, full)
			if stage == StageLoRA {
				for _, ext := range []string{".pth", "_peft/adapter_model.safetensors", "_peft/adapter_config.json"} {
					require.FileExists(t, full.Adapters+ext)
				}
				require.Len(t, want, 2*3*2, "A and B of q_proj, v_proj and gate_proj in 2 layers")
			}

			sc.SaveWeight = string(stage) + "_stopped"
			sc.MaxSteps = 3
			_, err = TrainStage(context.Background(), sc)
			require.True(t, errors.Is(err, ErrInterrupted), "%v", err)
			sc.MaxSteps, sc.FromResume = 0, true
			resumed, err := TrainStage(context.Background(), sc)
			require.NoError(t, err, logs.String())
			require.Contains(t, logs.String(), "resuming from")
			require.Equal(t, full.Run.Losses, resumed.Run.Losses)
			require.Equal(t, want, trained(t, resumed))
		})
	}
}

// TestDPORefCacheStage checks that the DPO stage with --ref_cache trains
// the same weights as with the reference model run every step, and that a
// second run reuses the cache file.
func TestDPORefCacheStage(t *testing.T) {
	dir, tok := stageFixture(t)
	var logs strings.Builder
	sc := stageConfig(StageDPO, dir, tok, &logs)
	sc.Epochs = 1
	plain, err := TrainStage(context.Background(), sc)
	require.NoError(t, err)
	sc.DPO.RefCache, sc.SaveWeight = true, "dpo_cached"
	cached, err := TrainStage(context.Background(), sc)
	require.NoError(t, err, logs.String())
	require.FileExists(t, filepath.Join(dir, "dpo_cached_64_refcache.json"))
	require.Equal(t, plain.Run.Losses, cached.Run.Losses)
	require.Equal(t, trained(t, plain), trained(t, cached))
	_, err = TrainStage(context.Background(), sc)
	require.NoError(t, err)
	require.Contains(t, logs.String(), "reference log-probabilities from")
}

// TestStageErrors covers the clear failures of the stages.
func TestStageErrors(t *testing.T) {
	dir, tok := stageFixture(t)
	for _, tc := range []struct {
		name string
		edit func(*StageConfig)
		want string
	}{
		{"no start weights", func(s *StageConfig) { s.FromWeight = "none" }, "starts from trained weights"},
		{"missing teacher", func(s *StageConfig) { s.Stage, s.Distill.Teacher = StageDistill, "nobody" }, "teacher"},
		{"packing dpo", func(s *StageConfig) { s.Stage, s.Packing = StageDPO, true }, "packing"},
		{"bad target", func(s *StageConfig) { s.LoRA.Targets = []string{"qkv"} }, "unknown LoRA target"},
		{"missing adapters", func(s *StageConfig) { s.LoRA.From = filepath.Join(dir, "none.safetensors") }, "--from_lora"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var logs strings.Builder
			sc := stageConfig(StageLoRA, dir, tok, &logs)
			tc.edit(&sc)
			_, err := TrainStage(context.Background(), sc)
			require.ErrorContains(t, err, tc.want)
		})
	}
}

// TestFromLoRA starts a LoRA run from the adapters of an earlier run (its
// .safetensors, .pth, PEFT folder and output folder): the first
// micro-batch's loss is lower than with fresh adapters.
func TestFromLoRA(t *testing.T) {
	dir, tok := stageFixture(t)
	var logs strings.Builder
	sc := stageConfig(StageLoRA, dir, tok, &logs)
	sc.Shuffle = false
	sc.LR = 1e-2
	first, err := TrainStage(context.Background(), sc)
	require.NoError(t, err)
	for _, from := range []string{first.Adapters + ".safetensors", first.Adapters + ".pth", first.Adapters + "_peft", first.OutDir} {
		t.Run(filepath.Base(from), func(t *testing.T) {
			next := sc
			next.SaveWeight, next.MaxSteps, next.Accum, next.LoRA.From = "again", 1, 1, from
			res, err := TrainStage(context.Background(), next)
			require.True(t, errors.Is(err, ErrInterrupted), "%v", err)
			require.Contains(t, logs.String(), "starting from the adapters in "+from)
			require.Len(t, res.Run.Losses, 1)
			t.Logf("first micro-batch: loss %.4f with fresh adapters, %.4f from the trained ones", first.Run.Losses[0], res.Run.Losses[0])
			require.Less(t, res.Run.Losses[0], first.Run.Losses[0])
		})
	}
}
