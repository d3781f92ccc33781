package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minimind-go/minimind/model/checkpoint"
	"github.com/minimind-go/minimind/native"
)

// fixtures holds the real MiniMind tokenizer files (copies in the repository).
const fixtures = "../../testdata/minimind"

func tokenizerDir(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(fixtures, "minimind2")
	if _, err := os.Stat(filepath.Join(dir, "tokenizer.json")); err != nil {
		t.Fatalf("MiniMind tokenizer fixture missing: %v", err)
	}
	return dir
}

func TestUsage(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"zero bad flag", []string{"zero", "--no_such_flag"}, "no_such_flag"},
		{"zero bad stage", []string{"zero", "--stages", "pretrain,sft,ppo"}, "ppo"},
		{"zero sft alone", []string{"zero", "--stages", "sft"}, "together"},
		{"lora bad rank flag", []string{"lora", "--lora_rank", "x"}, "lora_rank"},
		{"unknown stage", []string{"no_such_stage"}, "unknown stage"},
		{"bad flag", []string{"pretrain", "--no_such_flag"}, "no_such_flag"},
		{"bad value", []string{"pretrain", "--use_moe", "2"}, "use_moe"},
		{"bad dtype", []string{"sft", "--save_dtype", "bf16"}, "save_dtype"},
		{"bad device", []string{"pretrain", "--device", "tpu", "--preset", "tiny", "--data_path", "nope.jsonl"}, "device"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			err := run(context.Background(), tc.args, &out, &errb)
			if !errors.Is(err, errUsage) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want a usage error about %q", err, tc.want)
			}
		})
	}
}

func writeCorpus(t *testing.T, path string, n int) {
	t.Helper()
	var sb strings.Builder
	for i := range n {
		if i == 5 {
			sb.WriteString("{not json\n")
			continue
		}
		fmt.Fprintf(&sb, "{\"text\": \"MiniMind sample %d: 小模型也能从零开始训练。The quick brown fox %d.\"}\n", i, i*i)
	}
	if err := os.WriteFile(path, []byte(sb.String()), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestPretrainCommand runs a tiny pretraining end to end with the real
// tokenizer, then continues it with --from_resume and starts a second run
// from its weights.
func TestPretrainCommand(t *testing.T) {
	tok := tokenizerDir(t)
	dir := t.TempDir()
	data := filepath.Join(dir, "pre.jsonl")
	writeCorpus(t, data, 40)
	common := []string{"--data_path", data, "--tokenizer", tok, "--preset", "tiny", "--batch_size", "4",
		"--max_seq_len", "32", "--accumulation_steps", "2", "--save_dir", dir, "--log_interval", "2", "--save_interval", "4", "--threads", "2"}
	var out, errb bytes.Buffer
	if err := run(context.Background(), append([]string{"pretrain"}, common...), &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	log := errb.String()
	for _, want := range []string{"1 malformed", "line 6", "tokenizing"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
	outDir := filepath.Join(dir, "pretrain_64")
	for _, f := range []string{"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json", "train_log.jsonl", "loss.svg"} {
		if _, err := os.Stat(filepath.Join(outDir, f)); err != nil {
			t.Errorf("missing output: %v", err)
		}
	}
	r, err := native.LoadResume(filepath.Join(dir, "pretrain_64_resume.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if r.State.Epoch != 1 || len(r.State.Losses) != 10 {
		t.Errorf("resume state epoch %d with %d losses, want 1 and 10 (39 samples / 4)", r.State.Epoch, len(r.State.Losses))
	}

	t.Run("resume into a second epoch", func(t *testing.T) {
		errb.Reset()
		args := append([]string{"pretrain", "--from_resume", "1", "--epochs", "2"}, common...)
		if err := run(context.Background(), args, &out, &errb); err != nil {
			t.Fatalf("%v\n%s", err, errb.String())
		}
		if !strings.Contains(errb.String(), "resuming from") || !strings.Contains(errb.String(), "using the token cache") {
			t.Errorf("log:\n%s", errb.String())
		}
		r, err := native.LoadResume(filepath.Join(dir, "pretrain_64_resume.safetensors"))
		if err != nil {
			t.Fatal(err)
		}
		if r.State.Epoch != 2 || len(r.State.Losses) != 20 {
			t.Errorf("resume state epoch %d with %d losses, want 2 and 20", r.State.Epoch, len(r.State.Losses))
		}
	})
	t.Run("from weight", func(t *testing.T) {
		errb.Reset()
		args := append([]string{"pretrain", "--from_weight", "pretrain", "--save_weight", "again", "--save_dtype", "fp16"}, common...)
		if err := run(context.Background(), args, &out, &errb); err != nil {
			t.Fatalf("%v\n%s", err, errb.String())
		}
		if !strings.Contains(errb.String(), "starting from "+outDir) {
			t.Errorf("log:\n%s", errb.String())
		}
		if _, _, err := checkpoint.Load(filepath.Join(dir, "again_64")); err != nil {
			t.Error(err)
		}
	})
	t.Run("strict", func(t *testing.T) {
		errb.Reset()
		args := append([]string{"pretrain", "--strict", "--save_weight", "strict"}, common...)
		err := run(context.Background(), args, &out, &errb)
		if err == nil || !strings.Contains(err.Error(), "line 6") {
			t.Errorf("error %v, want the malformed line 6", err)
		}
	})
	t.Run("interrupted", func(t *testing.T) {
		errb.Reset()
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		args := append([]string{"pretrain", "--save_weight", "stopped"}, common...)
		if err := run(ctx, args, &out, &errb); err != nil {
			t.Fatalf("%v\n%s", err, errb.String())
		}
		if !strings.Contains(errb.String(), "--from_resume 1") {
			t.Errorf("log:\n%s", errb.String())
		}
		if _, err := native.LoadResume(filepath.Join(dir, "stopped_64_resume.safetensors")); err != nil {
			t.Error(err)
		}
	})
}

func TestBench(t *testing.T) {
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"bench", "--preset", "tiny", "--batch_size", "2", "--max_seq_len", "16", "--steps", "2"}, &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	if !strings.Contains(out.String(), "tokens/s") {
		t.Errorf("output %q", out.String())
	}
}

// TestSFTCommand fine-tunes the weights of a tiny pretraining run on SFT
// conversations with the real chat template.
func TestSFTCommand(t *testing.T) {
	tok := tokenizerDir(t)
	dir := t.TempDir()
	pre := filepath.Join(dir, "pre.jsonl")
	writeCorpus(t, pre, 12)
	base := []string{"--tokenizer", tok, "--batch_size", "4", "--max_seq_len", "48", "--save_dir", dir, "--threads", "2"}
	var out, errb bytes.Buffer
	if err := run(context.Background(), append([]string{"pretrain", "--data_path", pre, "--preset", "tiny"}, base...), &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	var sb strings.Builder
	for i := range 10 {
		fmt.Fprintf(&sb, `{"conversations":[{"role":"user","content":"问题%d"},{"role":"assistant","content":"回答%d。"}]}`+"\n", i, i)
	}
	sft := filepath.Join(dir, "sft.jsonl")
	os.WriteFile(sft, []byte(sb.String()), 0o644)
	errb.Reset()
	// The architecture comes from --from_weight (the tiny preset, found as
	// the only pretrain_* checkpoint), not the default hidden size 512.
	args := append([]string{"sft", "--data_path", sft, "--from_weight", "pretrain", "--packing", "--system_prompts"}, base...)
	if err := run(context.Background(), args, &out, &errb); err != nil {
		t.Fatalf("%v\n%s", err, errb.String())
	}
	if !strings.Contains(errb.String(), "packing 10 samples") {
		t.Errorf("log:\n%s", errb.String())
	}
	cfg, _, err := checkpoint.Load(filepath.Join(dir, "full_sft_64"))
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Layers != 2 {
		t.Errorf("SFT model has %d layers, want the pretrained tiny model's 2", cfg.Layers)
	}
}

// TestZeroSmoke runs the Zero pipeline end to end on a tiny preset and a
// few thousand tokens: data, both stages, validation, evaluation, report.
func TestZeroSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("trains two small stages")
	}
	out := filepath.Join(t.TempDir(), "out")
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"zero", "--out", out, "--preset", "tiny", "--core_repeat", "0", "--core_sft_repeat", "0",
		"--pretrain_tokens", "3000", "--sft_tokens", "3000", "--pretrain_epochs", "1", "--sft_epochs", "1",
		"--eval_items", "3", "--batch_size", "2", "--max_seq_len", "128"}, &stdout, &stderr)
	if err != nil {
		t.Fatalf("zero: %v\n%s", err, stderr.String())
	}
	data, err := os.ReadFile(filepath.Join(out, "zero_report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var rep zeroReport
	if err := json.Unmarshal(data, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.EvalTotal != 3 || len(rep.Samples) != len(zeroQuestions) || rep.PretrainTokens < 3000 || rep.SFTTokens < 3000 ||
		math.IsNaN(rep.ValPretrainLoss) || math.IsNaN(rep.ValSFTLoss) {
		t.Errorf("report %+v", rep)
	}
	// The identity conversations are always in the SFT data, three times.
	sft, err := os.ReadFile(filepath.Join(out, "zero_data", "sft.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(sft)), "\n")
	id := 0
	for _, l := range lines {
		if strings.Contains(l, "MiniMind") {
			id++
		}
	}
	if id < 3*100 || id%3 != 0 {
		t.Errorf("%d identity conversations in the SFT data, want 3 copies of each", id)
	}
	for _, want := range []string{"stage 1/2", "stage 2/2", "validation loss", "held-out definition questions"} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("log lacks %q", want)
		}
	}
	if !strings.Contains(stdout.String(), "Q: Who are you?") {
		t.Errorf("no sample answers in\n%s", stdout.String())
	}

	t.Run("dpo and lora stages", func(t *testing.T) {
		stdout.Reset()
		stderr.Reset()
		err := run(context.Background(), []string{"zero", "--out", out, "--preset", "tiny", "--stages", "dpo,lora", "--dpo_pairs", "6",
			"--eval_items", "2", "--batch_size", "2", "--max_seq_len", "128", "--lora_epochs", "1"}, &stdout, &stderr)
		if err != nil {
			t.Fatalf("zero: %v\n%s", err, stderr.String())
		}
		data, err := os.ReadFile(filepath.Join(out, "zero_report.json"))
		if err != nil {
			t.Fatal(err)
		}
		var rep zeroReport
		if err := json.Unmarshal(data, &rep); err != nil {
			t.Fatal(err)
		}
		if rep.DPO == nil || rep.DPO.Pairs != 6 || rep.DPO.Before.Total != 2 || rep.DPO.After.Total != 2 {
			t.Errorf("DPO report %+v", rep.DPO)
		}
		if rep.LoRA == nil || rep.LoRA.HeldOut != len(personaHeldOut) || rep.LoRA.Params == 0 || len(rep.LoRA.SampleAfter) != len(personaHeldOut) {
			t.Errorf("LoRA report %+v", rep.LoRA)
		}
		for _, f := range []string{"dpo_64/model.safetensors", "dpo_64_refcache.json", "lora_persona_64/lora_persona_64.safetensors",
			"lora_persona_64/lora_persona_64.pth", "lora_persona_64/lora_persona_64_peft/adapter_config.json", "zero_data/dpo.jsonl"} {
			if _, err := os.Stat(filepath.Join(out, f)); err != nil {
				t.Error(err)
			}
		}
	})
}

// TestPostTrainingCommands runs each post-training stage from the command
// line on the weights of a tiny SFT run, then merges the LoRA adapters.
func TestPostTrainingCommands(t *testing.T) {
	tok := tokenizerDir(t)
	dir := t.TempDir()
	var sft, dpo strings.Builder
	for i := range 8 {
		fmt.Fprintf(&sft, `{"conversations":[{"role":"user","content":"问题%d"},{"role":"assistant","content":"<think>想一想</think>回答%d。"}]}`+"\n", i, i)
		fmt.Fprintf(&dpo, `{"chosen":[{"role":"user","content":"问题%d"},{"role":"assistant","content":"回答%d。"}],"rejected":[{"role":"user","content":"问题%d"},{"role":"assistant","content":"回答回答回答。"}]}`+"\n", i, i, i)
	}
	sftPath, dpoPath := filepath.Join(dir, "sft.jsonl"), filepath.Join(dir, "dpo.jsonl")
	os.WriteFile(sftPath, []byte(sft.String()), 0o644)
	os.WriteFile(dpoPath, []byte(dpo.String()), 0o644)
	base := []string{"--tokenizer", tok, "--batch_size", "2", "--max_seq_len", "48", "--save_dir", dir, "--threads", "2", "--epochs", "1"}
	runOK := func(args ...string) string {
		t.Helper()
		var out, errb bytes.Buffer
		if err := run(context.Background(), args, &out, &errb); err != nil {
			t.Fatalf("%v: %v\n%s", args, err, errb.String())
		}
		return out.String() + errb.String()
	}
	runOK(append([]string{"sft", "--data_path", sftPath, "--preset", "tiny", "--from_weight", "none"}, base...)...)
	// A teacher: the same data into a MoE model, named as MiniMind's MoE teacher.
	runOK(append([]string{"sft", "--data_path", sftPath, "--preset", "tiny-moe", "--from_weight", "none", "--save_weight", "teacher"}, base...)...)

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"lora", "--data_path", sftPath, "--lora_name", "lora_x", "--lora_rank", "4", "--lora_targets", "q_proj,v_proj"}, "lora: rank 4 on q_proj,v_proj"},
		{[]string{"dpo", "--data_path", dpoPath, "--ref_cache", "--beta", "0.1"}, "cached log-probabilities"},
		{[]string{"distill", "--data_path", sftPath, "--from_teacher_weight", "teacher", "--teacher_use_moe", "1"}, "distill: teacher"},
		{[]string{"reason", "--data_path", sftPath, "--from_weight", "full_sft", "--think_tags", "<think>,</think>"}, "reason: weight 10"},
	} {
		t.Run(tc.args[0], func(t *testing.T) {
			log := runOK(append(tc.args, base...)...)
			if !strings.Contains(log, tc.want) {
				t.Errorf("log lacks %q:\n%s", tc.want, log)
			}
		})
	}
	out := runOK("merge-lora", "--from_weight", filepath.Join(dir, "full_sft_64"), "--lora", filepath.Join(dir, "lora_x_64"), "--save_dir", dir)
	if !strings.Contains(out, "merged 4 adapters (rank 4)") {
		t.Errorf("merge output %q", out)
	}
	if _, _, err := checkpoint.Load(filepath.Join(dir, "merge_64")); err != nil {
		t.Error(err)
	}
}
