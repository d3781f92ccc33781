package webgpu

import (
	"testing"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/cpu"
)

// The benchmarks run minimind2-small (random weights) on the CPU engine and
// on the WebGPU engine in the same process, so the ratio is measured under
// the same conditions:
//
//	go test ./webgpu -run '^$' -bench . -benchtime 20x
//
// On a machine whose adapter is lavapipe or SwiftShader the WebGPU numbers
// are those of a CPU emulating a GPU (see AdapterInfo.CPUEmulated).

func benchEngines(b *testing.B) []model.Engine {
	b.Helper()
	ge := openTest(b, Options{})
	b.Logf("adapter: %s (CPU-emulated: %v)", ge.Adapter(), ge.Adapter().CPUEmulated())
	return []model.Engine{cpu.New(0), ge}
}

func benchPrompt(n int) []int32 {
	p := make([]int32, n)
	for i := range p {
		p[i] = int32(i*37%6000 + 3)
	}
	return p
}

// BenchmarkDecode measures single-token decode over a KV cache holding 128
// tokens (tokens/s). For WebGPU, "argmax" picks the token on the device and
// reads back 4 bytes; "logits" reads back the [V] row as model.Generate does.
func BenchmarkDecode(b *testing.B) {
	c, _ := model.Preset("minimind2-small")
	w := model.InitWeights(c, 1)
	for _, e := range benchEngines(b) {
		modes := []string{"logits"}
		if e.Name() == "webgpu" {
			modes = append(modes, "argmax")
		}
		m, err := model.New(c, e, w)
		if err != nil {
			b.Fatal(err)
		}
		for _, mode := range modes {
			b.Run(e.Name()+"/"+mode, func(b *testing.B) {
				cache := m.NewCache(1, 128+b.N+1)
				defer cache.Free(e)
				l, err := m.Forward(benchPrompt(128), 1, model.ForwardOptions{Cache: cache, LastOnly: true})
				if err != nil {
					b.Fatal(err)
				}
				e.Read(l)
				e.Free(l)
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					l, err := m.Forward([]int32{int32(i%6000 + 3)}, 1, model.ForwardOptions{Cache: cache, LastOnly: true})
					if err != nil {
						b.Fatal(err)
					}
					if mode == "argmax" {
						if _, err := e.(*Engine).Argmax(l, 1, c.Vocab); err != nil {
							b.Fatal(err)
						}
					} else {
						e.Read(l)
					}
					e.Free(l)
				}
				b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
			})
		}
		freeWeights(e, c, m.W)
	}
}

// BenchmarkPrefill measures a 256-token prompt pass (tokens/s).
func BenchmarkPrefill(b *testing.B) {
	c, _ := model.Preset("minimind2-small")
	w := model.InitWeights(c, 1)
	prompt := benchPrompt(256)
	for _, e := range benchEngines(b) {
		m, err := model.New(c, e, w)
		if err != nil {
			b.Fatal(err)
		}
		b.Run(e.Name(), func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				l, err := m.Forward(prompt, 1, model.ForwardOptions{LastOnly: true})
				if err != nil {
					b.Fatal(err)
				}
				e.Read(l)
				e.Free(l)
			}
			b.ReportMetric(float64(b.N*len(prompt))/b.Elapsed().Seconds(), "tokens/s")
		})
		freeWeights(e, c, m.W)
	}
}
