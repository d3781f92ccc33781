//go:build !js && !cgo

package webgpu

import (
	"context"
	"fmt"
)

// openDriver reports that the native engine needs cgo (go-webgpu links
// wgpu-native through it).
func openDriver(ctx context.Context) (driver, error) {
	return nil, fmt.Errorf("%w: this binary was built with CGO_ENABLED=0; the native WebGPU engine links wgpu-native through cgo: install a C compiler (apt-get install gcc) and rebuild with CGO_ENABLED=1", ErrNoAdapter)
}
