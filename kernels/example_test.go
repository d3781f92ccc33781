package kernels_test

import (
	"fmt"
	"log"

	"github.com/minimind-go/minimind/kernels"
)

// Each embedded PTX module is loaded by the CUDA engine with
// cuModuleLoadData; its entry points are the kernels it launches by name.
func ExampleModules() {
	ms, err := kernels.Modules()
	if err != nil {
		log.Fatal(err)
	}
	for _, m := range ms {
		if m.Name == "rope" {
			fmt.Println(m.Name, kernels.Entries(m.PTX))
		}
	}
	// Output: rope [mm_rope]
}
