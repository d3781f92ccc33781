package main

import (
	"fmt"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/cpu"
)

// openDevice returns the training engine for --device: "cpu", or "cuda"
// in a binary built with -tags cuda.
func openDevice(name string, threads int) (model.TrainEngine, func(), error) {
	switch name {
	case "", "cpu":
		return cpu.New(threads), func() {}, nil
	case "cuda":
		return openCUDA()
	default:
		return nil, nil, fmt.Errorf("%w: --device %q (cpu or cuda)", errUsage, name)
	}
}
