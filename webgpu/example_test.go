package webgpu_test

import (
	"context"
	"fmt"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/webgpu"
)

// Example runs a small MiniMind model on the WebGPU engine and decodes a few
// tokens greedily. (No fixed output: it depends on the machine's adapter.)
func Example() {
	ctx := context.Background()
	e, err := webgpu.New(ctx, webgpu.Options{})
	if err != nil {
		fmt.Println(err) // e.g. no adapter: install mesa-vulkan-drivers for lavapipe
		return
	}
	defer e.Close()
	fmt.Println("adapter:", e.Adapter())

	c, _ := model.Preset("tiny")
	m, err := model.New(c, e, model.InitWeights(c, 1))
	if err != nil {
		fmt.Println(err)
		return
	}
	ids, err := m.Generate(ctx, []int32{1, 42, 7}, model.GenerateOptions{MaxTokens: 8, StopTokens: []int32{}})
	if err == nil {
		err = e.Err() // device errors surface here
	}
	fmt.Println(ids, err)
}

// ExampleEngine_Argmax decodes with the argmax taken on the device, reading
// back 4 bytes per token instead of the logits.
func ExampleEngine_Argmax() {
	e, err := webgpu.New(context.Background(), webgpu.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	defer e.Close()
	c, _ := model.Preset("tiny")
	m, _ := model.New(c, e, model.InitWeights(c, 1))
	cache := m.NewCache(1, 16)
	next := []int32{1, 42, 7}
	for range 8 {
		logits, err := m.Forward(next, 1, model.ForwardOptions{Cache: cache, LastOnly: true})
		if err != nil {
			fmt.Println(err)
			return
		}
		next, err = e.Argmax(logits, 1, c.Vocab)
		e.Free(logits)
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Print(next[0], " ")
	}
	fmt.Println()
}
