// Package shaders holds the WGSL compute shaders of the WebGPU engine, one
// file per op of the forward pass, embedded in the binary.
//
// Every shader has one entry point, main, and one bind group (group 0):
// binding 0 is a uniform Params struct (the engine binds it with a dynamic
// offset into a per-batch arena), the other bindings are storage buffers.
// The header comment of each file says what it computes, its bindings, their
// shapes and how it is dispatched. Bindings parses the declarations so the
// engine can build explicit bind group layouts without a second copy of them.
package shaders

import (
	"embed"
	"fmt"
	"io/fs"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

//go:embed *.wgsl
var files embed.FS

// Access is how a shader uses one binding.
type Access int

const (
	// Uniform is a uniform buffer (the Params struct).
	Uniform Access = iota
	// Read is a read-only storage buffer.
	Read
	// ReadWrite is a read-write storage buffer.
	ReadWrite
)

// String names the access as WGSL spells it.
func (a Access) String() string {
	switch a {
	case Uniform:
		return "uniform"
	case Read:
		return "storage, read"
	case ReadWrite:
		return "storage, read_write"
	}
	return "Access(" + strconv.Itoa(int(a)) + ")"
}

// Binding is one resource of a shader's bind group 0.
type Binding struct {
	Index  int    // @binding(Index)
	Name   string // the WGSL variable name
	Access Access
}

// Names lists the shaders (file names without .wgsl), sorted.
func Names() []string {
	ents, _ := fs.ReadDir(files, ".")
	var names []string
	for _, e := range ents {
		if n, ok := strings.CutSuffix(e.Name(), ".wgsl"); ok {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

// Source returns the WGSL source of the named shader.
func Source(name string) (string, error) {
	b, err := files.ReadFile(name + ".wgsl")
	if err != nil {
		return "", fmt.Errorf("shaders: no shader %q (have %v)", name, Names())
	}
	return string(b), nil
}

var bindingRE = regexp.MustCompile(`@group\((\d+)\)\s*@binding\((\d+)\)\s*var<([^>]*)>\s*(\w+)`)

// Bindings parses the resource declarations of WGSL source code, in binding
// order. It rejects groups other than 0, gaps in the binding numbers and
// address spaces other than uniform and storage.
func Bindings(src string) ([]Binding, error) {
	var bs []Binding
	for _, line := range strings.Split(src, "\n") {
		if t := strings.TrimSpace(line); strings.HasPrefix(t, "//") {
			continue
		}
		for _, m := range bindingRE.FindAllStringSubmatch(line, -1) {
			if m[1] != "0" {
				return nil, fmt.Errorf("shaders: binding %s (%s) is in group %s, want 0", m[2], m[4], m[1])
			}
			idx, _ := strconv.Atoi(m[2])
			var acc Access
			switch strings.ReplaceAll(m[3], " ", "") {
			case "uniform":
				acc = Uniform
			case "storage", "storage,read":
				acc = Read
			case "storage,read_write":
				acc = ReadWrite
			default:
				return nil, fmt.Errorf("shaders: binding %d (%s) has unsupported address space <%s>", idx, m[4], m[3])
			}
			bs = append(bs, Binding{Index: idx, Name: m[4], Access: acc})
		}
	}
	sort.Slice(bs, func(i, j int) bool { return bs[i].Index < bs[j].Index })
	for i, b := range bs {
		if b.Index != i {
			return nil, fmt.Errorf("shaders: bindings are not numbered 0..%d without gaps (found %d at position %d)", len(bs)-1, b.Index, i)
		}
	}
	return bs, nil
}

// Layout returns the parsed bindings of the named shader.
func Layout(name string) ([]Binding, error) {
	src, err := Source(name)
	if err != nil {
		return nil, err
	}
	bs, err := Bindings(src)
	if err != nil {
		return nil, fmt.Errorf("%s.wgsl: %w", name, err)
	}
	return bs, nil
}
