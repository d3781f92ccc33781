package webgpu

import (
	"context"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	"github.com/minimind-go/minimind/model"
)

// TestNoAdapter runs the test binary again with the Vulkan loader pointed at
// a missing driver, so no adapter exists, and checks New's error.
func TestNoAdapter(t *testing.T) {
	if os.Getenv("MINIMIND_WEBGPU_CHILD") == "no-adapter" {
		_, err := New(context.Background(), Options{})
		switch {
		case err == nil:
			t.Fatal("New found an adapter with no Vulkan driver")
		case !errors.Is(err, ErrNoAdapter):
			t.Fatalf("error %v does not wrap ErrNoAdapter", err)
		case !strings.Contains(err.Error(), "mesa-vulkan-drivers") && !strings.Contains(err.Error(), "CGO_ENABLED=1"):
			// A Vulkan driver to install, or (built without cgo) how to
			// build the engine in.
			t.Fatalf("error %q does not say how to get a device", err)
		}
		t.Logf("New: %v", err)
		return
	}
	if testing.Short() {
		t.Skip("starts a child process")
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestNoAdapter$", "-test.count=1", "-test.v")
	cmd.Env = append(os.Environ(), "MINIMIND_WEBGPU_CHILD=no-adapter",
		"VK_ICD_FILENAMES=/nonexistent/icd.json", "VK_DRIVER_FILES=/nonexistent/icd.json", "MINIMIND_REQUIRE_WEBGPU=0")
	out, err := cmd.CombinedOutput()
	if testing.Verbose() {
		t.Logf("child:\n%s", out)
	}
	if err != nil || !strings.Contains(string(out), "--- PASS: TestNoAdapter") {
		t.Fatalf("child failed: %v\n%s", err, out)
	}
}

func TestErrors(t *testing.T) {
	tests := []struct {
		name string
		run  func(e *Engine)
		want []string // substrings of the error
	}{
		{"buffer above maxBufferSize", func(e *Engine) {
			e.Alloc(int(e.Adapter().MaxBufferSize/4) + 1024)
		}, []string{"Alloc", "maxBufferSize"}},
		{"binding above maxStorageBufferBindingSize", func(e *Engine) {
			// A lowered limit, so the check is met without a 128 MiB-1 GiB buffer.
			e.info.MaxStorageBufferBindingSize = 1 << 20
			x := e.Alloc(1<<18 + 1024)
			e.Add(x, x, x, 16)
		}, []string{"Add", "maxStorageBufferBindingSize"}},
		{"shader that does not compile", func(e *Engine) {
			_, err := e.compile("broken", "@group(0) @binding(0) var<uniform> p: vec4<u32>;\nfn main( {")
			e.fail(err)
		}, []string{"broken.wgsl", "does not compile"}},
		{"tensor of another engine", func(e *Engine) {
			e.Read(&model.Host{Data: []float32{1}})
		}, []string{"Read", "model.Host"}},
		{"freed tensor", func(e *Engine) {
			x := e.Upload([]float32{1, 2})
			e.Free(x)
			e.Add(x, x, x, 2)
		}, []string{"Add", "freed"}},
		{"short tensor", func(e *Engine) {
			x, w, o := e.Alloc(8), e.Alloc(8), e.Alloc(8)
			e.MatMul(o, x, w, 2, 4, 3)
		}, []string{"MatMul", "w has 8 elements", "needs 12"}},
		{"token id outside the table", func(e *Engine) {
			e.Embed(e.Alloc(4), e.Upload(make([]float32, 8)), []int32{2}, 4)
		}, []string{"Embed", "ids[0] = 2", "[0, 2)"}},
		{"bad attention shape", func(e *Engine) {
			x := e.Alloc(64)
			e.Attention(x, x, x, x, model.AttnArgs{B: 1, T: 2, Heads: 3, KVHeads: 2, HeadDim: 4, S: 2})
		}, []string{"Attention", "bad shape"}},
	}
	e := openTest(t, Options{LazyPipelines: true})
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			// Each case gets a fresh engine: the first error sticks.
			e, err := newEngine(e.drv, Options{LazyPipelines: true})
			if err != nil {
				t.Fatal(err)
			}
			tc.run(e)
			err = e.Err()
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			// After an error, ops do nothing and Read returns zeros.
			x := e.Alloc(3)
			e.Add(x, x, x, 3)
			if got := e.Read(x); len(got) != 3 || got[0] != 0 {
				t.Errorf("Read after an error = %v, want 3 zeros", got)
			}
			if !errors.Is(e.Err(), err) && e.Err().Error() != err.Error() {
				t.Errorf("the first error was replaced: %v", e.Err())
			}
		})
	}
}
