package model_test

import (
	"context"
	"fmt"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/cpu"
)

// Example builds a tiny MiniMind with random weights on the CPU engine,
// traces one forward pass and generates greedily over the KV cache.
func Example() {
	cfg, _ := model.Preset("tiny")
	m, err := model.New(cfg, cpu.New(1), model.InitWeights(cfg, 42))
	if err != nil {
		panic(err)
	}
	tr := &model.Trace{}
	if _, err := m.Forward([]int32{1, 300, 301}, 1, model.ForwardOptions{Trace: tr}); err != nil {
		panic(err)
	}
	fmt.Println(len(tr.Steps), tr.Steps[0].Name, tr.Step("logits").Shape)

	out, err := m.Generate(context.Background(), []int32{1, 300, 301}, model.GenerateOptions{MaxTokens: 4, StopTokens: []int32{}})
	fmt.Println(len(out), err)
	// Output:
	// 25 embed [3 6400]
	// 4 <nil>
}

// ExampleAttachLoRA adds MiniMind's adapters (every square linear layer,
// rank 16, B = 0) to a tiny model and folds them back into the weights.
func ExampleAttachLoRA() {
	cfg, _ := model.Preset("tiny3")
	host := model.InitWeights(cfg, 1)
	m, _ := model.New(cfg, cpu.New(1), host)
	l, err := model.AttachLoRA(m, model.LoRAOptions{Rank: 16, Seed: 1})
	if err != nil {
		panic(err)
	}
	fmt.Println(l.Targets(), len(l.Adapters), l.ParamCount())
	merged, err := model.MergeLoRA(cfg, host, l.HostTensors(m.Engine), l.Rank, l.Scale)
	if err != nil {
		panic(err)
	}
	// B = 0 at the start, so merging changes nothing yet.
	fmt.Println(merged.Layers[0].Q.(*model.Host).Data[0] == host.Layers[0].Q.(*model.Host).Data[0])
	// Output:
	// [o_proj q_proj] 4 8192
	// true
}

// ExampleTrace_detail records the explanation steps too: the token ids, the
// RMSNorm factors, q and k before RoPE, the attention context, the SwiGLU
// parts and the probabilities.
func ExampleTrace_detail() {
	cfg, _ := model.Preset("tiny")
	m, err := model.New(cfg, cpu.New(1), model.InitWeights(cfg, 42))
	if err != nil {
		panic(err)
	}
	tr := &model.Trace{Detail: true}
	if _, err := m.Forward([]int32{1, 300, 301}, 1, model.ForwardOptions{Trace: tr}); err != nil {
		panic(err)
	}
	fmt.Println(len(tr.Steps), tr.Names()[:4])
	fmt.Println(tr.Step("layers.0.q_proj").Shape, tr.Step("layers.0.silu").Shape, tr.Step("probs").Shape)
	// Output:
	// 49 [tokens embed layers.0.input_rms layers.0.input_norm_weight]
	// [3 4 16] [3 192] [3 6400]
}

// ExampleReadTo reads a tensor into a buffer the caller keeps: on an
// engine with ReadTo (the CPU engine) the second read allocates nothing.
func ExampleReadTo() {
	e := cpu.New(1)
	t := e.Upload([]float32{1, 2, 3})
	var buf []float32 // [3]
	for range 2 {
		buf = model.ReadTo(e, buf, t)
	}
	fmt.Println(buf)
	// Output: [1 2 3]
}
