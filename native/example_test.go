package native_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/checkpoint"
	"github.com/minimind-go/minimind/model/cpu"
	"github.com/minimind-go/minimind/native"
)

// Train the tiny preset for one epoch on five in-memory documents, two rows
// a micro-batch, stepping the optimizer every two micro-batches.
func ExampleRun() {
	cfg, _ := model.Preset("tiny")
	m, err := model.New(cfg, cpu.New(1), model.InitWeights(cfg, 1))
	if err != nil {
		fmt.Println(err)
		return
	}
	opt := native.DefaultOptim()
	opt.Accum = 2
	tr, err := native.NewTrainer(m, opt)
	if err != nil {
		fmt.Println(err)
		return
	}
	var docs []native.Doc
	for i := range 5 {
		docs = append(docs, native.Doc{Tokens: []int32{1, int32(10 + i), int32(20 + i), 2}}) // [bos, …, eos]
	}
	res, err := native.Run(context.Background(), tr, native.NewMemDataset(docs, 0), native.RunConfig{
		Mode: native.Pretrain, Epochs: 1, BatchSize: 2, LR: 5e-4, MaxSeqLen: 8})
	if err != nil {
		fmt.Println(err)
		return
	}
	// 3 micro-batches (2+2+1 rows); the optimizer steps after the 2nd and,
	// for the leftover, after the 3rd.
	fmt.Printf("micro-steps %d, optimizer steps %d, padding %.0f%%\n", len(res.Losses), tr.Steps(), 100*res.PadShare)
	// Output: micro-steps 3, optimizer steps 2, padding 50%
}

func ExampleSchedule() {
	s := native.Schedule{LR: 5e-4, Total: 10}
	for _, t := range []int{1, 5, 10} {
		fmt.Printf("lr(%d) = %.6g\n", t, s.At(t))
	}
	// Output:
	// lr(1) = 0.000488988
	// lr(5) = 0.000275
	// lr(10) = 5e-05
}

// A DPO micro-step at the reference weights: both log-probability margins
// are equal, so the loss is log 2.
func ExampleDPO() {
	cfg, _ := model.Preset("tiny")
	host := model.InitWeights(cfg, 1)
	policy, _ := model.New(cfg, cpu.New(1), host)
	ref, _ := model.New(cfg, cpu.New(1), host)
	tr, _ := native.NewTrainer(policy, native.DefaultOptim())
	tr.Objective = &native.DPO{Beta: 0.15, Ref: ref}
	ign := int32(model.IgnoreIndex)
	b := model.Batch{B: 2, T: 5, // one pair: the chosen row, then the rejected row
		Input:  []int32{1, 50, 60, 70, 2, 1, 50, 61, 61, 2},
		Labels: []int32{ign, ign, 60, 70, 2, ign, ign, 61, 61, 2}}
	r, err := tr.MicroStep(b, 1e-3)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Printf("loss %.4f\n", r.Loss)
	// Output: loss 0.6931
}

// TrainStage runs a whole stage from a config struct: here LoRA adapters
// on a small checkpoint, from a jsonl file, with minimind3's tokenizer.
func ExampleTrainStage() {
	dir, err := os.MkdirTemp("", "stage")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	cfg, _ := model.Preset("tiny3")
	if err := checkpoint.Save(filepath.Join(dir, "full_sft_64"), cfg, model.InitWeights(cfg, 1), checkpoint.SaveOptions{}); err != nil {
		panic(err)
	}
	var data strings.Builder
	for i := range 4 {
		fmt.Fprintf(&data, `{"conversations":[{"role":"user","content":"Who are you?"},{"role":"assistant","content":"I am Pico %d."}]}`+"\n", i)
	}
	os.WriteFile(filepath.Join(dir, "persona.jsonl"), []byte(data.String()), 0o644)

	res, err := native.TrainStage(context.Background(), native.StageConfig{
		Stage: native.StageLoRA, DataPath: filepath.Join(dir, "persona.jsonl"), Epochs: 1, BatchSize: 2, Accum: 1,
		MaxSeqLen: 64, LR: 1e-3, Clip: 1, Arch: cfg, FromWeight: "full_sft", SaveDir: dir, SaveWeight: "lora_persona",
		Tokenizer: filepath.Join("..", "testdata", "minimind", "minimind3"), Engine: cpu.New(1),
		LoRA: native.LoRAConfig{Rank: 16}})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(res.Name, len(res.Run.Losses), "micro-steps,", res.Params, "trained parameters")
	fmt.Println(filepath.Base(res.Adapters) + ".safetensors")
	// Output:
	// lora_persona_64 2 micro-steps, 8192 trained parameters
	// lora_persona_64.safetensors
}
