// Package engines opens a model engine by name for the command-line tools:
// "cpu" (the pure-Go engine) or "webgpu" (the WebGPU engine, natively over
// Vulkan/Metal/DX12).
package engines

import (
	"context"
	"fmt"
	"io"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/cpu"
	"github.com/minimind-go/minimind/webgpu"
)

// Names lists the engines Open accepts.
var Names = []string{"cpu", "webgpu"}

// Open returns the named engine and a function that releases it. With
// verbose set, the WebGPU adapter report is written to w.
func Open(ctx context.Context, name string, threads int, verbose bool, w io.Writer) (model.Engine, func(), error) {
	switch name {
	case "", "cpu":
		return cpu.New(threads), func() {}, nil
	case "webgpu":
		e, err := webgpu.New(ctx, webgpu.Options{})
		if err != nil {
			return nil, nil, fmt.Errorf("--engine webgpu: %w", err)
		}
		if verbose {
			fmt.Fprintf(w, "WebGPU adapter: %s\n", e.Adapter())
		}
		return e, func() { e.Close() }, nil
	default:
		return nil, nil, fmt.Errorf("unknown engine %q (have %v)", name, Names)
	}
}
