//go:build js && wasm && !webgpu

package main

import (
	"context"
	"fmt"

	"github.com/minimind-go/minimind/model"
)

// openWebGPU reports that this build carries no WebGPU engine (build with
// -tags webgpu once package webgpu builds for js/wasm).
func openWebGPU(context.Context) (model.Engine, string, error) {
	return nil, "", fmt.Errorf("%w: this build of the runtime has no WebGPU engine", errNoWebGPU)
}
