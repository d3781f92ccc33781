package pth_test

import (
	"context"
	"fmt"
	"log"
	"strings"

	"github.com/minimind-go/minimind/model/pth"
	"github.com/minimind-go/minimind/model/safetensors"
)

func Example() {
	// A MiniMind-style fp16 state dict saved by torch.save.
	tensors, err := pth.ReadFile("testdata/model.pth")
	if err != nil {
		log.Fatal(err)
	}
	for _, t := range tensors[:3] {
		fmt.Println(t.Name, t.DType, t.Shape, len(t.Data))
	}
	// A pth.Tensor converts directly to a safetensors.Tensor, e.g. to write it back out.
	st := safetensors.Tensor(tensors[0])
	fmt.Println(st.Name)
	// Output:
	// model.embed_tokens.weight F16 [16 8] 128
	// model.layers.0.self_attn.q_proj.weight F16 [8 8] 64
	// model.layers.0.self_attn.k_proj.weight F16 [4 8] 32
	// model.embed_tokens.weight
}

func ExampleOpen() {
	// A resume file wraps the state dict: {"model": ..., "optimizer": ..., "epoch": ..., ...}.
	f, err := pth.Open("testdata/wrapped.pth")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	for _, name := range f.Names() {
		if strings.HasPrefix(name, "model.") {
			info, _ := f.Info(name)
			fmt.Println(strings.TrimPrefix(name, "model."), info.DType, info.Shape)
		}
	}
	v := f.Values()
	fmt.Println("epoch", v["epoch"], "step", v["step"], "lr", v["optimizer.param_groups.0.lr"])
	all, err := f.ReadAll(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(all), "tensors")
	// Output:
	// norm F16 [4]
	// layer.weight F16 [3 4]
	// epoch 1 step 42 lr 0.0005
	// 8 tensors
}
