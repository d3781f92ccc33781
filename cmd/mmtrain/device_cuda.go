//go:build cuda

package main

import (
	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/native/cuda"
)

// openCUDA opens the first GPU: bf16 products, cuBLASLt when found.
func openCUDA() (model.TrainEngine, func(), error) {
	e, err := cuda.New(cuda.Options{})
	if err != nil {
		return nil, nil, err
	}
	return e, func() { e.Close() }, nil
}
