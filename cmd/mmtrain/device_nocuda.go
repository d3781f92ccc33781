//go:build !cuda

package main

import (
	"errors"

	"github.com/minimind-go/minimind/model"
)

// openCUDA reports that this binary has no CUDA engine.
func openCUDA() (model.TrainEngine, func(), error) {
	return nil, nil, errors.New("--device cuda: this mmtrain was built without CUDA; build it with `go build -tags cuda ./cmd/mmtrain` on a machine with the CUDA toolkit")
}
