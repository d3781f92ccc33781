// Package kernels holds the CUDA C kernels of the MiniMind CUDA engine
// (native/cuda) and the PTX that nvcc generates from them.
//
// Each .cu file is one PTX module for the virtual architecture sm_80 (CUDA
// 11.8's nvcc); newer drivers JIT-compile it for Ampere, Ada and Hopper. The
// PTX is committed and embedded, so building the engine needs no CUDA
// toolkit; `go generate ./kernels` rebuilds it (nvcc on PATH) and the
// package's tests check that the committed PTX is what nvcc produces and
// that ptxas accepts it for sm_80 and sm_90.
//
// Every kernel file starts with what it computes and its launch shape. The
// kernels also compile as C++ against emu/cuda_emu.h, a CPU emulation of the
// CUDA programming model, which the engine's cudaemu tests use to check
// every kernel on machines without a GPU.
//
// The package itself is pure Go (embedded text only) and builds everywhere.
package kernels

import (
	"embed"
	"fmt"
	"regexp"
	"strings"

	"github.com/minimind-go/minimind/kernels/internal/nvcc"
)

//go:generate go run ./internal/genptx

//go:embed *.ptx
var ptxFS embed.FS

// Arch is the virtual GPU architecture the PTX is generated for.
const Arch = nvcc.Arch

// Sources lists the kernel source files; each becomes the PTX module of the
// same base name.
func Sources() []string { return append([]string(nil), nvcc.Sources...) }

// NVCCArgs returns the arguments with which nvcc compiles src to PTX file out.
func NVCCArgs(src, out string) []string { return nvcc.Args(src, out) }

// Module is one embedded PTX module.
type Module struct {
	Name string // the source's base name, e.g. "attention"
	PTX  string
}

// Modules returns the embedded PTX modules in the order of Sources.
func Modules() ([]Module, error) {
	var ms []Module
	for _, src := range nvcc.Sources {
		name := strings.TrimSuffix(src, ".cu")
		b, err := ptxFS.ReadFile(name + ".ptx")
		if err != nil {
			return nil, fmt.Errorf("kernels: %s.ptx is not embedded (run go generate ./kernels): %w", name, err)
		}
		ms = append(ms, Module{Name: name, PTX: string(b)})
	}
	return ms, nil
}

var entryRE = regexp.MustCompile(`(?m)^\.visible \.entry ([A-Za-z_][A-Za-z0-9_]*)\(`)

// Entries lists the kernel entry points defined by a PTX module.
func Entries(ptx string) []string {
	var names []string
	for _, m := range entryRE.FindAllStringSubmatch(ptx, -1) {
		names = append(names, m[1])
	}
	return names
}
