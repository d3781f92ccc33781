package cpu_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/checkpoint"
	"github.com/minimind-go/minimind/model/cpu"
	"github.com/minimind-go/minimind/model/gemm"
	"github.com/minimind-go/minimind/model/gguf"
	"github.com/minimind-go/minimind/tokenizer"
)

// benchResult is one engine's batch-1 speed on one file.
type benchResult struct {
	PrefillTPS float64 `json:"prefill_tps"`
	DecodeTPS  float64 `json:"decode_tps"`
	Tokens     int     `json:"tokens"`
	RSSMB      float64 `json:"rss_mb"`
	WeightMB   float64 `json:"weight_mb"`
	KVMB       float64 `json:"kv_mb"`
}

const (
	benchPrompt = 64  // prompt tokens
	benchNew    = 128 // generated tokens
)

func benchIDs() []int32 {
	r := rand.New(rand.NewPCG(7, 7))
	ids := make([]int32, benchPrompt)
	for i := range ids {
		ids[i] = int32(3 + r.IntN(6000))
	}
	return ids
}

// TestDecodeChild is the measuring process of TestDecodeTable: it loads a
// GGUF file as mmchat does, converts the weights, and times one generation.
func TestDecodeChild(t *testing.T) {
	file := os.Getenv("MM_BENCH_FILE")
	if file == "" {
		t.Skip("run by TestDecodeTable")
	}
	threads, _ := strconv.Atoi(os.Getenv("MM_BENCH_THREADS"))
	dtype := cpu.DType(os.Getenv("MM_BENCH_DTYPE"))
	c, w, err := checkpoint.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	m, err := model.New(c, cpu.New(threads), w)
	if err != nil {
		t.Fatal(err)
	}
	w = nil
	if err := cpu.QuantizeWeights(m, dtype); err != nil {
		t.Fatal(err)
	}
	var weightBytes int
	for _, p := range c.Params(m.W) {
		switch x := (*p.Ptr).(type) {
		case *gemm.QMatrix:
			weightBytes += len(x.Data)
		case *model.Host:
			weightBytes += 4 * len(x.Data)
		}
	}
	debug.SetGCPercent(cpu.InferenceGCPercent) // as mmchat does
	runtime.GC()
	debug.FreeOSMemory()
	ids := benchIDs()
	var first, last time.Time
	n := 0
	start := time.Now()
	_, err = m.Generate(context.Background(), ids, model.GenerateOptions{MaxTokens: benchNew, StopTokens: []int32{-1},
		OnToken: func(int32) error {
			if n == 0 {
				first = time.Now()
			}
			n++
			last = time.Now()
			return nil
		}})
	if err != nil {
		t.Fatal(err)
	}
	kv := 2 * c.Layers * (benchPrompt + benchNew) * c.KVHeads * c.HeadDim * 4
	res := benchResult{PrefillTPS: benchPrompt / first.Sub(start).Seconds(), DecodeTPS: float64(n-1) / last.Sub(first).Seconds(),
		Tokens: n, RSSMB: rssMB(), WeightMB: float64(weightBytes) / 1e6, KVMB: float64(kv) / 1e6}
	out, _ := json.Marshal(res)
	fmt.Printf("RESULT %s\n", out)
}

func rssMB() float64 {
	data, _ := os.ReadFile("/proc/self/status")
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kb, _ := strconv.ParseFloat(f[1], 64)
			return kb / 1e3
		}
	}
	return 0
}

// readBandwidth measures the read bandwidth (GB/s) of threads cores
// together: the best of 5 passes of an AVX2 dot product over a 256 MiB
// buffer with itself, split between the threads.
func readBandwidth(threads int) float64 {
	buf := make([]float32, 64<<20)
	for i := range buf {
		buf[i] = 1
	}
	best := 0.0
	for range 5 {
		t0 := time.Now()
		var wg sync.WaitGroup
		for th := range threads {
			part := buf[len(buf)*th/threads : len(buf)*(th+1)/threads]
			wg.Add(1)
			go func() {
				defer wg.Done()
				gemm.Dot(part, part)
			}()
		}
		wg.Wait()
		best = max(best, float64(4*len(buf))/time.Since(t0).Seconds()/1e9)
	}
	return best
}

// TestDecodeTable prints BENCHMARKS.md's decode table: this engine and
// llama.cpp (node-llama-cpp 3.21.1) on the same GGUF files of
// minimind2-small (random weights), same prompt, same threads, alternating,
// with the machine's single-core read bandwidth. DECODE_TABLE=1 runs it.
func TestDecodeTable(t *testing.T) {
	if os.Getenv("DECODE_TABLE") == "" {
		t.Skip("set DECODE_TABLE=1 (needs tools/llamacpp installed)")
	}
	rounds, _ := strconv.Atoi(os.Getenv("DECODE_ROUNDS"))
	rounds = max(rounds, 1)
	preset := os.Getenv("DECODE_PRESET")
	if preset == "" {
		preset = "minimind2-small"
	}
	c, err := model.Preset(preset)
	if err != nil {
		t.Fatal(err)
	}
	w := model.InitWeights(c, 1)
	tok, err := tokenizer.Load("../../testdata/minimind/minimind2")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	script, _ := filepath.Abs("../../tools/llamacpp/bench.mjs")
	bws := map[int]float64{1: readBandwidth(1), 2: readBandwidth(2)}
	t.Logf("read bandwidth: %.1f GB/s on one core, %.1f GB/s on two", bws[1], bws[2])
	var ids []string
	for _, id := range benchIDs() {
		ids = append(ids, fmt.Sprint(id))
	}
	self, _ := os.Executable()
	var table bytes.Buffer
	fmt.Fprintf(&table, "| weights | threads | ours decode tok/s | llama.cpp decode tok/s | ratio | bytes/token | floor tok/s | ours %% of floor | llama.cpp bytes/token | llama.cpp %% of its floor | ours prefill tok/s | llama.cpp prefill tok/s | ours RSS MB (weights+KV) | llama.cpp RSS MB |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, typ := range []gguf.TensorType{gguf.F32, gguf.F16, gguf.Q8_0, gguf.Q4_0} {
		path := filepath.Join(dir, preset+"-"+typ.String()+".gguf")
		var buf bytes.Buffer
		if err := gguf.Export(&buf, c, w, tok, gguf.ExportOptions{Type: typ}); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		// llama.cpp reads every matrix of the file once per token (the
		// tied embedding as the output head), in the file's types.
		gf, err := gguf.Open(path)
		if err != nil {
			t.Fatal(err)
		}
		var theirBytes float64
		for _, ti := range gf.Tensors() {
			if len(ti.Dims) == 2 {
				theirBytes += float64(ti.Size)
			}
		}
		gf.Close()
		for _, threads := range []int{1, 2} {
			for r := range rounds {
				cmd := exec.Command(self, "-test.run", "^TestDecodeChild$", "-test.v")
				cmd.Env = append(os.Environ(), "MM_BENCH_FILE="+path, fmt.Sprintf("MM_BENCH_THREADS=%d", threads),
					"MM_BENCH_DTYPE="+typ.String(), fmt.Sprintf("GOMAXPROCS=%d", threads))
				out, err := cmd.CombinedOutput()
				if err != nil {
					t.Fatalf("child: %v\n%s", err, out)
				}
				var ours benchResult
				_, after, _ := strings.Cut(string(out), "RESULT ")
				if err := json.Unmarshal([]byte(strings.SplitN(after, "\n", 2)[0]), &ours); err != nil {
					t.Fatalf("child output: %s", out)
				}
				lc := exec.Command("node", script, path, fmt.Sprint(threads), strings.Join(ids, ","), fmt.Sprint(benchNew))
				lout, err := lc.Output()
				if err != nil {
					t.Fatalf("llama.cpp: %v", err)
				}
				var theirs benchResult
				if err := json.Unmarshal(lout, &theirs); err != nil {
					t.Fatalf("llama.cpp output %s", lout)
				}
				bw := bws[threads]
				bytesPerTok := ours.WeightMB * 1e6
				floor := bw * 1e9 / bytesPerTok
				fmt.Fprintf(&table, "| %v | %d | %.0f | %.0f | %.2f× | %.1f MB | %.0f | %.0f%% | %.1f MB | %.0f%% | %.0f | %.0f | %.0f (%.0f+%.1f) | %.0f |\n",
					typ, threads, ours.DecodeTPS, theirs.DecodeTPS, ours.DecodeTPS/theirs.DecodeTPS, bytesPerTok/1e6, floor,
					100*ours.DecodeTPS/floor, theirBytes/1e6, 100*theirs.DecodeTPS/(bw*1e9/theirBytes), ours.PrefillTPS, theirs.PrefillTPS, ours.RSSMB, ours.WeightMB, ours.KVMB, theirs.RSSMB)
				_ = r
			}
		}
	}
	load, _ := os.ReadFile("/proc/loadavg")
	t.Logf("\nmodel %s, prompt %d tokens, %d new tokens, load %s\n%s", preset, benchPrompt, benchNew, strings.TrimSpace(string(load)), table.String())
}

// BenchmarkDecodeDType measures single-token decode of minimind2-small on
// one thread for each weight type (reports tokens/s), over a KV cache of
// 64 to 192 tokens as in TestDecodeTable (the cache is rewound to the
// prompt every 128 tokens).
func BenchmarkDecodeDType(b *testing.B) {
	for _, d := range []cpu.DType{"f32", "f16", "q8_0", "q4_0"} {
		b.Run(string(d), func(b *testing.B) {
			m := benchModel(b, "minimind2-small", 1)
			if err := cpu.QuantizeWeights(m, d); err != nil {
				b.Fatal(err)
			}
			prompt := benchIDs()
			cache := m.NewCache(1, len(prompt)+benchNew)
			l, err := m.Forward(prompt, 1, model.ForwardOptions{Cache: cache, LastOnly: true})
			if err != nil {
				b.Fatal(err)
			}
			m.Engine.Free(l)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if cache.Len == cache.Cap {
					cache.Len = len(prompt)
				}
				l, err := m.Forward([]int32{int32(i%6000 + 3)}, 1, model.ForwardOptions{Cache: cache, LastOnly: true})
				if err != nil {
					b.Fatal(err)
				}
				m.Engine.Read(l)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tokens/s")
		})
	}
}
