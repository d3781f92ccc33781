package kernels

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/minimind-go/minimind/kernels/internal/nvcc"
)

func TestModules(t *testing.T) {
	ms, err := Modules()
	if err != nil {
		t.Fatal(err)
	}
	if len(ms) != len(Sources()) {
		t.Fatalf("%d modules for %d sources", len(ms), len(Sources()))
	}
	seen := map[string]string{}
	for _, m := range ms {
		t.Run(m.Name, func(t *testing.T) {
			if !strings.Contains(m.PTX, ".target "+Arch) {
				t.Errorf("%s.ptx does not target %s", m.Name, Arch)
			}
			es := Entries(m.PTX)
			if len(es) == 0 {
				t.Fatalf("%s.ptx has no kernel entry points", m.Name)
			}
			for _, e := range es {
				if !strings.HasPrefix(e, "mm_") {
					t.Errorf("%s.ptx: entry %q lacks the mm_ prefix (unmangled extern \"C\" kernels)", m.Name, e)
				}
				if prev, dup := seen[e]; dup {
					t.Errorf("entry %s is defined in %s and %s", e, prev, m.Name)
				}
				seen[e] = m.Name
			}
		})
	}
}

// TestPTXUpToDate recompiles every source with nvcc and compares the result
// with the committed PTX.
func TestPTXUpToDate(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("skipped in -short mode: nvcc takes about 20 s")
	}
	if _, err := exec.LookPath("nvcc"); err != nil {
		t.Skip("nvcc not found: cannot check that the committed PTX is up to date (Debian: enable contrib non-free, apt-get install nvidia-cuda-toolkit)")
	}
	ms, err := Modules()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, m := range ms {
		t.Run(m.Name, func(t *testing.T) {
			t.Parallel()
			out := filepath.Join(dir, m.Name+".ptx")
			cmd := exec.Command("nvcc", NVCCArgs(m.Name+".cu", out)...)
			if b, err := cmd.CombinedOutput(); err != nil {
				t.Fatalf("nvcc %s.cu: %v\n%s", m.Name, err, b)
			}
			got, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, []byte(m.PTX)) {
				t.Errorf("%s.ptx differs from what nvcc generates from %s.cu: run go generate ./kernels", m.Name, m.Name)
			}
		})
	}
}

// TestPTXAssembles runs ptxas on the committed PTX for Ampere and Hopper,
// which catches resource errors (registers, shared memory) without a GPU.
func TestPTXAssembles(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("skipped in -short mode: ptxas takes about 20 s")
	}
	if _, err := exec.LookPath("ptxas"); err != nil {
		t.Skip("ptxas not found: cannot assemble the PTX (Debian: enable contrib non-free, apt-get install nvidia-cuda-toolkit)")
	}
	ms, err := Modules()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for _, m := range ms {
		in := filepath.Join(dir, m.Name+".ptx")
		if err := os.WriteFile(in, []byte(m.PTX), 0o644); err != nil {
			t.Fatal(err)
		}
		for _, arch := range []string{"sm_80", "sm_90"} {
			t.Run(m.Name+"/"+arch, func(t *testing.T) {
				t.Parallel()
				b, err := exec.Command("ptxas", "-arch="+arch, "-v", in, "-o", os.DevNull).CombinedOutput()
				if err != nil {
					t.Fatalf("ptxas -arch=%s %s.ptx: %v\n%s", arch, m.Name, err, b)
				}
				if bytes.Contains(b, []byte("error")) {
					t.Errorf("ptxas -arch=%s %s.ptx reports errors:\n%s", arch, m.Name, b)
				}
			})
		}
	}
}

// TestEmuHeaderUpToDate checks that the emulator build's record of the
// kernel sources (native/cuda/emu_sources.h) matches them, so that
// `go test -tags cudaemu ./native/cuda` tests the current kernels.
func TestEmuHeaderUpToDate(t *testing.T) {
	h, err := nvcc.SourceHash(".")
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.FromSlash(nvcc.EmuHeader))
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != nvcc.EmuHeaderText(h) {
		t.Errorf("%s is stale: run go generate ./kernels (or go run ./internal/genptx -hash-only in kernels/)", nvcc.EmuHeader)
	}
}
