// Command genptx regenerates the committed PTX of package kernels with nvcc
// and records the sources' hash for the emulator build (see
// nvcc.EmuHeader): `go generate ./kernels` runs it in the kernels folder.
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/minimind-go/minimind/kernels/internal/nvcc"
)

func main() {
	hashOnly := flag.Bool("hash-only", false, "only refresh "+nvcc.EmuHeader+" (the emulator build's record of the sources)")
	flag.Parse()
	if err := writeEmuHeader(); err != nil {
		fmt.Fprintln(os.Stderr, "genptx:", err)
		os.Exit(1)
	}
	if *hashOnly {
		return
	}
	if _, err := exec.LookPath("nvcc"); err != nil {
		fmt.Fprintln(os.Stderr, "genptx: nvcc is not on PATH (Debian: enable contrib non-free, apt-get install nvidia-cuda-toolkit)")
		os.Exit(1)
	}
	for _, src := range nvcc.Sources {
		out := strings.TrimSuffix(src, ".cu") + ".ptx"
		cmd := exec.Command("nvcc", nvcc.Args(src, out)...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Run(); err != nil {
			fmt.Fprintf(os.Stderr, "genptx: nvcc %s: %v\n", src, err)
			os.Exit(1)
		}
		fmt.Println("genptx:", src, "→", out)
	}
}

// writeEmuHeader records the kernel sources' hash for the emulator build.
func writeEmuHeader() error {
	h, err := nvcc.SourceHash(".")
	if err != nil {
		return err
	}
	return os.WriteFile(nvcc.EmuHeader, []byte(nvcc.EmuHeaderText(h)), 0o644)
}
