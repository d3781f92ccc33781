package safetensors_test

import (
	"bytes"
	"fmt"
	"log"

	"github.com/minimind-go/minimind/model/safetensors"
)

func Example() {
	// Write two tensors, one stored as F16, then read them back lazily.
	var buf bytes.Buffer
	err := safetensors.Write(&buf, []safetensors.Tensor{
		{Name: "model.norm.weight", DType: safetensors.F32, Shape: []int{2}, Data: []float32{1, 0.5}},
		{Name: "model.embed_tokens.weight", DType: safetensors.F16, Shape: []int{2, 2}, Data: []float32{0.1, -2, 3, 1e-3}},
	}, map[string]string{"format": "pt"})
	if err != nil {
		log.Fatal(err)
	}

	f, err := safetensors.Parse(buf.Bytes())
	if err != nil {
		log.Fatal(err)
	}
	for _, t := range f.Tensors() {
		fmt.Println(t.Name, t.DType, t.Shape)
	}
	emb, err := f.Float32("model.embed_tokens.weight")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(emb, f.Metadata()["format"])
	// Output:
	// model.norm.weight F32 [2]
	// model.embed_tokens.weight F16 [2 2]
	// [0.099975586 -2 3 0.0010004044] pt
}

func ExampleOpen() {
	f, err := safetensors.Open("testdata/python.safetensors")
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	info, _ := f.Info("model.layers.0.self_attn.k_proj.weight")
	w, err := f.Float32(info.Name)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(f.Names()), info.DType, info.Shape, len(w))
	// Output: 14 F16 [4 8] 32
}
