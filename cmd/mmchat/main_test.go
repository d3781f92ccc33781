package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/checkpoint"
)

func modelFolder(t *testing.T) string {
	t.Helper()
	fix := filepath.Join("..", "..", "testdata", "minimind", "minimind2")
	if _, err := os.Stat(fix); err != nil {
		t.Fatalf("MiniMind tokenizer fixtures missing at %s", fix)
	}
	c, _ := model.Preset("tiny")
	dir := t.TempDir()
	if err := checkpoint.Save(dir, c, model.InitWeights(c, 3), checkpoint.SaveOptions{DType: "F16"}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"tokenizer.json", "tokenizer_config.json"} {
		data, _ := os.ReadFile(filepath.Join(fix, f))
		os.WriteFile(filepath.Join(dir, f), data, 0o644)
	}
	return dir
}

func TestScriptedChat(t *testing.T) {
	dir := modelFolder(t)
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"--model", dir, "--greedy", "--max-tokens", "6"},
		strings.NewReader("hello\n\nwho are you?\n"), &out, &errb, false)
	if err != nil {
		t.Fatalf("%v (stderr %s)", err, errb.String())
	}
	if n := strings.Count(out.String(), "\n"); n != 2 {
		t.Fatalf("got %d reply lines for 2 messages: %q", n, out.String())
	}
	// Greedy is deterministic: the same input gives the same replies.
	var again bytes.Buffer
	run(context.Background(), []string{"--model", dir, "--greedy", "--max-tokens", "6"},
		strings.NewReader("hello\n\nwho are you?\n"), &again, &errb, false)
	if again.String() != out.String() {
		t.Errorf("greedy replies differ: %q vs %q", out.String(), again.String())
	}
}

func TestIDsMode(t *testing.T) {
	dir := modelFolder(t)
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"--model", dir, "--ids", "--greedy", "--max-tokens", "4"},
		strings.NewReader("1 20 30\n"), &out, &errb, false); err != nil {
		t.Fatal(err)
	}
	if f := strings.Fields(out.String()); len(f) == 0 || len(f) > 4 {
		t.Errorf("ids mode printed %q", out.String())
	}
	if err := run(context.Background(), []string{"--model", dir, "--ids"}, strings.NewReader("1 x\n"), &out, &errb, false); err == nil {
		t.Error("a bad id was accepted")
	}
}

func TestMissingModel(t *testing.T) {
	var out, errb bytes.Buffer
	err := run(context.Background(), []string{"--model", filepath.Join(t.TempDir(), "nope")}, strings.NewReader("hi\n"), &out, &errb, false)
	if err == nil || !strings.Contains(err.Error(), "nope") {
		t.Errorf("missing model: err = %v", err)
	}
}

// TestLoRAFlag applies adapters with --lora and checks that the greedy
// continuations equal those of the merged model and differ from the base's.
func TestLoRAFlag(t *testing.T) {
	dir := modelFolder(t)
	cfg, base, err := checkpoint.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	a := &checkpoint.Adapters{Rank: 4, Alpha: 8, Tensors: map[string][]float32{}, Shapes: map[string][]int{}}
	mods, _ := model.LoRAModules(cfg, []string{"q_proj", "down_proj"})
	for i, m := range mods {
		in, out := cfg.Hidden, cfg.Hidden
		if strings.HasSuffix(m, "down_proj") {
			in = cfg.FFN
		}
		A, B := make([]float32, 4*in), make([]float32, out*4)
		for j := range A {
			A[j] = float32((j*7+i)%11-5) * 0.05
		}
		for j := range B {
			B[j] = float32((j*5+i)%9-4) * 0.1
		}
		a.Tensors[m+".lora.A.weight"], a.Shapes[m+".lora.A.weight"] = A, []int{4, in}
		a.Tensors[m+".lora.B.weight"], a.Shapes[m+".lora.B.weight"] = B, []int{out, 4}
	}
	adapters := filepath.Join(t.TempDir(), "lora_test")
	if err := checkpoint.SaveAdapters(adapters, a); err != nil {
		t.Fatal(err)
	}
	merged, err := model.MergeLoRA(cfg, base, a.Tensors, 4, 2)
	if err != nil {
		t.Fatal(err)
	}
	mdir := t.TempDir()
	if err := checkpoint.Save(mdir, cfg, merged, checkpoint.SaveOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"tokenizer.json", "tokenizer_config.json"} {
		data, _ := os.ReadFile(filepath.Join(dir, f))
		os.WriteFile(filepath.Join(mdir, f), data, 0o644)
	}
	reply := func(args ...string) string {
		var out, errb bytes.Buffer
		args = append(args, "--greedy", "--max-tokens", "8", "--ids")
		if err := run(context.Background(), args, strings.NewReader("1 300 301 302\n1 20 21\n"), &out, &errb, false); err != nil {
			t.Fatalf("%v (stderr %s)", err, errb.String())
		}
		return out.String()
	}
	withLoRA := reply("--model", dir, "--lora", adapters+".safetensors")
	if got := reply("--model", mdir); got != withLoRA {
		t.Errorf("merged model replies %q, base + --lora %q", got, withLoRA)
	}
	if got := reply("--model", dir, "--lora", adapters+"_peft"); got != withLoRA {
		t.Errorf("PEFT folder replies %q, safetensors %q", got, withLoRA)
	}
	t.Logf("base %q, with adapters %q", reply("--model", dir), withLoRA)
	if reply("--model", dir) == withLoRA {
		t.Error("the adapters do not change the replies")
	}
}

func TestDType(t *testing.T) {
	dir := modelFolder(t)
	replies := map[string]string{}
	for _, d := range []string{"f32", "f16", "q8_0", "q4_0"} {
		var out, errb bytes.Buffer
		err := run(context.Background(), []string{"--model", dir, "--greedy", "--max-tokens", "6", "--dtype", d},
			strings.NewReader("hello\n"), &out, &errb, false)
		if err != nil {
			t.Fatalf("--dtype %s: %v (stderr %s)", d, err, errb.String())
		}
		replies[d] = out.String()
	}
	// The fixture's weights are stored in f16: f16 computes exactly what f32 does.
	if replies["f16"] != replies["f32"] {
		t.Errorf("f16 reply %q differs from f32 %q", replies["f16"], replies["f32"])
	}
	var out, errb bytes.Buffer
	if err := run(context.Background(), []string{"--model", dir, "--dtype", "q5_k"}, strings.NewReader(""), &out, &errb, false); err == nil || !strings.Contains(err.Error(), "q5_k") {
		t.Errorf("bad --dtype: %v", err)
	}
}
