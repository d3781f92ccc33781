package gguf_test

import (
	"bytes"
	"fmt"

	"github.com/minimind-go/minimind/model/gguf"
)

// Write a small GGUF file with metadata and a q8_0 tensor, then read it back.
func ExampleWrite() {
	var buf bytes.Buffer
	data := make([]float32, 64)
	for i := range data {
		data[i] = float32(i) / 64
	}
	err := gguf.Write(&buf, []gguf.KV{
		{Key: "general.architecture", Value: "llama"},
		{Key: "llama.block_count", Value: uint32(2)},
	}, []gguf.Tensor{{Name: "w", Shape: []int{2, 32}, Type: gguf.Q8_0, Data: data}})
	if err != nil {
		panic(err)
	}
	f, err := gguf.Parse(buf.Bytes())
	if err != nil {
		panic(err)
	}
	arch, _ := f.String("general.architecture")
	layers, _ := f.Uint("llama.block_count")
	ti, _ := f.Tensor("w")
	back, _ := f.Float32("w")
	fmt.Println(arch, layers, ti.Type, ti.Shape(), ti.Size, back[63] > 0.98)
	_, err = f.String("llama.block_count")
	fmt.Println(err)
	// Output:
	// llama 2 q8_0 [2 32] 68 true
	// gguf: key llama.block_count holds a uint32, want a string: wrong metadata value type
}
