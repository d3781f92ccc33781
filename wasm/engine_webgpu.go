//go:build js && wasm && webgpu

package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/webgpu"
)

// openWebGPU opens the browser's WebGPU adapter (navigator.gpu) as an engine.
// Weights stay in f32, which matches the CPU engine.
func openWebGPU(ctx context.Context) (model.Engine, string, error) {
	e, err := webgpu.New(ctx, webgpu.Options{})
	if errors.Is(err, webgpu.ErrNoAdapter) {
		return nil, "", fmt.Errorf("%w: the browser found no WebGPU adapter (%w)", errNoWebGPU, err)
	}
	if err != nil {
		return nil, "", fmt.Errorf("%w: %w", errWebGPU, err)
	}
	return e, e.Adapter().String(), nil
}
