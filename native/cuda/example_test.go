//go:build cuda || cudaemu

package cuda_test

import (
	"fmt"
	"log"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/native/cuda"
)

// A model on the CUDA engine: the same op sequence as on the CPU, every op a
// kernel. (Built with -tags cuda on a GPU machine, or -tags cudaemu on the
// CPU emulation.)
func Example() {
	e, err := cuda.New(cuda.Options{Precision: cuda.BF16})
	if err != nil {
		log.Fatal(err)
	}
	defer e.Close()
	cfg, _ := model.Preset("tiny")
	m, err := model.New(cfg, e, model.InitWeights(cfg, 1))
	if err != nil {
		log.Fatal(err)
	}
	logits, err := m.Forward([]int32{1, 42, 7, 9}, 1, model.ForwardOptions{LastOnly: true})
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(e.Read(logits)), e.Err())
	// Output: 6400 <nil>
}
