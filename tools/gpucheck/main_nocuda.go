//go:build !cuda && !cudaemu

// Command gpucheck checks and benchmarks the CUDA engine on a GPU machine.
// It needs the cuda build tag:
//
//	go build -tags cuda -o tools/gpucheck/gpucheck ./tools/gpucheck
package main

import (
	"fmt"
	"os"
)

func main() {
	fmt.Fprintln(os.Stderr, "gpucheck: built without the cuda tag; build it with: go build -tags cuda -o tools/gpucheck/gpucheck ./tools/gpucheck")
	os.Exit(2)
}
