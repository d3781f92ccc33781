//go:build cuda || cudaemu

// Command gpucheck checks the CUDA engine on a GPU machine and benchmarks
// it: every kernel against the CPU engine on fresh random inputs, training
// steps against the CPU engine, determinism, and the training speed of
// minimind2-small (batch 32 × 512) next to PyTorch's numbers (the JSON files
// torch_bench.py writes). run.sh runs it all; see README.md.
//
// Build it on a development machine (the GPU machine needs no Go):
//
//	go build -tags cuda -o tools/gpucheck/gpucheck ./tools/gpucheck
//
// Built with -tags cudaemu instead it runs on the CPU emulation of CUDA,
// which checks the tool itself (use small sizes: -train tiny -preset tiny
// -batch 2 -seq 64).
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/cpu"
	"github.com/minimind-go/minimind/native/cuda"
)

func main() {
	out := flag.String("out", os.Getenv("OUT"), "folder for the logs and JSON results (default $OUT, else ./gpucheck-out)")
	phases := flag.String("phases", "ops,train,determinism,bench", "phases to run, comma-separated")
	steps := flag.Int("steps", 20, "training steps compared with the CPU engine")
	benchSteps := flag.Int("bench-steps", 10, "timed benchmark steps (after 3 warm-up steps)")
	batch := flag.Int("batch", 32, "benchmark batch size")
	seqLen := flag.Int("seq", 512, "benchmark sequence length")
	preset := flag.String("preset", "minimind2-small", "benchmark model")
	peak := flag.Float64("peak-tflops", 0, "the GPU's dense bf16 peak in TFLOP/s (default: from the device name)")
	torchJSON := flag.String("torch", "", "comma-separated JSON results of torch_bench.py to show in the table")
	cublas := flag.String("cublaslt", "", "path of a cuBLASLt library to try first")
	trainList := flag.String("train", "", "comma-separated presets of the train phase (default: all of its cases)")
	detList := flag.String("determinism", "tiny-moe,minimind2-small", "comma-separated presets of the determinism phase")
	flag.Parse()
	if *out == "" {
		*out = "gpucheck-out"
	}
	if err := os.MkdirAll(*out, 0o755); err != nil {
		fmt.Fprintln(os.Stderr, "gpucheck:", err)
		os.Exit(1)
	}
	logf, err := os.Create(filepath.Join(*out, "gpucheck.log"))
	if err != nil {
		fmt.Fprintln(os.Stderr, "gpucheck:", err)
		os.Exit(1)
	}
	defer logf.Close()
	r := &run{log: io.MultiWriter(os.Stdout, logf), logOnly: logf, out: *out, cublas: *cublas, seed: uint64(time.Now().UnixNano())}
	r.printf("gpucheck: seed %d (fresh random inputs), phases %s\n", r.seed, *phases)
	for _, ph := range strings.Split(*phases, ",") {
		t0 := time.Now()
		switch strings.TrimSpace(ph) {
		case "ops":
			r.ops()
		case "train":
			r.train(*steps, *trainList)
		case "determinism":
			r.determinism(*detList)
		case "bench":
			r.bench(*preset, *batch, *seqLen, *benchSteps, *peak)
		case "":
		default:
			r.failf("unknown phase %q", ph)
		}
		r.printf("phase %s: %.1f s\n\n", ph, time.Since(t0).Seconds())
	}
	r.table(*torchJSON, *peak)
	if r.failures > 0 {
		os.Exit(1)
	}
}

// run carries the state of one gpucheck run.
type run struct {
	log      io.Writer // stdout and the log file
	logOnly  io.Writer // the log file
	out      string
	cublas   string
	seed     uint64
	failures int
	summary  []string // one line per check phase, for the table
	rows     []benchRow
	info     cuda.DeviceInfo
	benchCfg struct {
		preset string
		B, T   int
	}
}

func (r *run) printf(format string, a ...any) { fmt.Fprintf(r.log, format, a...) }
func (r *run) failf(format string, a ...any) {
	r.failures++
	r.printf("FAIL: "+format+"\n", a...)
}

func (r *run) engine(opts cuda.Options) (*cuda.Engine, bool) {
	opts.CuBLASLtPath = r.cublas
	e, err := cuda.New(opts)
	if err != nil {
		r.failf("opening the CUDA engine (%+v): %v", opts, err)
		return nil, false
	}
	r.info = e.Info()
	return e, true
}

// haveLt reports whether a cuBLASLt library can be loaded.
func (r *run) haveLt() bool {
	e, err := cuda.New(cuda.Options{CuBLASLtPath: r.cublas})
	if err != nil {
		return false
	}
	defer e.Close()
	return strings.HasPrefix(e.Info().GEMM, "cuBLASLt")
}

// variants are the engine configurations checked op by op.
var variants = []struct {
	name string
	opts cuda.Options
}{
	{"fp32, own kernels", cuda.Options{Precision: cuda.FP32, GEMM: cuda.GEMMOwn}},
	{"bf16, own kernels", cuda.Options{Precision: cuda.BF16, GEMM: cuda.GEMMOwn}},
	{"fp32, cuBLASLt", cuda.Options{Precision: cuda.FP32, GEMM: cuda.GEMMCuBLASLt}},
	{"bf16, cuBLASLt", cuda.Options{Precision: cuda.BF16, GEMM: cuda.GEMMCuBLASLt}},
}

func (r *run) ops() {
	r.printf("== ops: every kernel against the CPU engine\n")
	for i, v := range variants {
		if v.opts.GEMM == cuda.GEMMCuBLASLt && !r.haveLt() {
			line := fmt.Sprintf("ops %-18s  SKIPPED: no cuBLASLt library found (run.sh puts PyTorch's on LD_LIBRARY_PATH; or -cublaslt PATH)", v.name)
			r.printf("%s\n", line)
			r.summary = append(r.summary, line)
			continue
		}
		e, ok := r.engine(v.opts)
		if !ok {
			r.summary = append(r.summary, fmt.Sprintf("ops %-18s  FAIL (no engine)", v.name))
			continue
		}
		if i == 0 {
			r.printf("device: %s\n", e.Info())
		}
		res := cuda.CheckOps(e, r.seed+uint64(i))
		bad := 0
		worst := 0.0
		for _, c := range res {
			if !c.OK() {
				bad++
				r.printf("  [%s] %s\n", v.name, c)
			} else {
				fmt.Fprintf(r.logOnly, "  [%s] %s\n", v.name, c)
			}
			if c.Tol > 0 {
				worst = max(worst, c.Err/c.Tol)
			}
		}
		if bad > 0 {
			r.failf("%s: %d of %d op checks failed", v.name, bad, len(res))
		}
		line := fmt.Sprintf("ops %-18s  %d/%d ok (worst err/tol %.2f)", v.name, len(res)-bad, len(res), worst)
		r.printf("%s\n", line)
		r.summary = append(r.summary, line)
		e.Close()
	}
}

// trainCases are compared with the CPU engine step by step.
var trainCases = []struct {
	preset string
	B, T   int
	packed bool
	opts   cuda.Options
	tol    float64 // |Δloss|/loss per step
}{
	{"tiny", 4, 64, false, cuda.Options{Precision: cuda.BF16}, 1e-2},
	{"tiny3", 4, 64, true, cuda.Options{Precision: cuda.BF16}, 1e-2},
	{"tiny-moe", 4, 64, false, cuda.Options{Precision: cuda.BF16}, 1e-2},
	{"tiny3-moe", 4, 64, true, cuda.Options{Precision: cuda.BF16}, 1e-2},
	{"zero", 4, 128, false, cuda.Options{Precision: cuda.FP32}, 1e-4},
	{"minimind2-small", 2, 256, false, cuda.Options{Precision: cuda.BF16}, 1e-2},
}

func (r *run) train(steps int, only string) {
	r.printf("== train: %d steps against the CPU engine (same weights, same batches)\n", steps)
	for _, tc := range trainCases {
		if only != "" && !slices.Contains(strings.Split(only, ","), tc.preset) {
			continue
		}
		c, err := model.Preset(tc.preset)
		if err != nil {
			r.failf("%v", err)
			continue
		}
		cfg := cuda.TrainConfig{Model: c, B: tc.B, T: tc.T, Steps: steps, Seed: r.seed, LR: 5e-4, Packed: tc.packed}
		name := fmt.Sprintf("%s %d×%d %s", tc.preset, tc.B, tc.T, tc.opts.Precision)
		if tc.packed {
			name += " packed"
		}
		t0 := time.Now()
		want, err := cuda.Train(cpu.New(0), cfg)
		if err != nil {
			r.failf("%s on the CPU: %v", name, err)
			continue
		}
		cpuTime := time.Since(t0)
		e, ok := r.engine(tc.opts)
		if !ok {
			continue
		}
		t0 = time.Now()
		got, err := cuda.Train(e, cfg)
		gpuTime := time.Since(t0)
		e.Close()
		if err != nil {
			r.failf("%s on the GPU: %v", name, err)
			continue
		}
		worst := 0.0
		for s := range want.Loss {
			d := math.Abs(got.Loss[s]-want.Loss[s]) / want.Loss[s]
			worst = max(worst, d)
			fmt.Fprintf(r.logOnly, "  %s step %2d: loss gpu %.6f cpu %.6f (rel %.1e), grad norm gpu %.5f cpu %.5f\n", name, s+1,
				got.Loss[s], want.Loss[s], d, got.GradNorm[s], want.GradNorm[s])
			if math.IsNaN(got.Loss[s]) {
				worst = math.Inf(1)
			}
		}
		status := "ok"
		if !(worst <= tc.tol) {
			status = "FAIL"
			r.failf("%s: losses differ from the CPU engine's by up to %.2e (tolerance %.0e)", name, worst, tc.tol)
		}
		line := fmt.Sprintf("train %-32s %s: max |Δloss|/loss %.1e (tol %.0e); loss %.4f → %.4f; cpu %.1fs gpu %.1fs",
			name, status, worst, tc.tol, got.Loss[0], got.Loss[len(got.Loss)-1], cpuTime.Seconds(), gpuTime.Seconds())
		r.printf("%s\n", line)
		r.summary = append(r.summary, line)
	}
}

func (r *run) determinism(presets string) {
	r.printf("== determinism: the same run twice, bit for bit\n")
	for _, tc := range []struct {
		preset string
		B, T   int
	}{{"tiny-moe", 4, 64}, {"minimind2-small", 4, 256}} {
		if !slices.Contains(strings.Split(presets, ","), tc.preset) {
			continue
		}
		c, _ := model.Preset(tc.preset)
		cfg := cuda.TrainConfig{Model: c, B: tc.B, T: tc.T, Steps: 5, Seed: r.seed, LR: 5e-4, Packed: true}
		var runs []cuda.TrainResult
		for range 2 {
			e, ok := r.engine(cuda.Options{})
			if !ok {
				return
			}
			res, err := cuda.Train(e, cfg)
			e.Close()
			if err != nil {
				r.failf("%s: %v", tc.preset, err)
				return
			}
			runs = append(runs, res)
		}
		same := slices.Equal(runs[0].Loss, runs[1].Loss) && runs[0].WeightHash == runs[1].WeightHash
		status := "ok"
		if !same {
			status = "FAIL"
			r.failf("%s: two runs differ: losses %v vs %v, weights %x vs %x", tc.preset, runs[0].Loss, runs[1].Loss,
				runs[0].WeightHash, runs[1].WeightHash)
		}
		line := fmt.Sprintf("determinism %-20s %s (5 steps, losses and final weights identical: %v)", tc.preset, status, same)
		r.printf("%s\n", line)
		r.summary = append(r.summary, line)
	}
}

// benchRow is one line of the speed table.
type benchRow struct {
	Name      string  `json:"name"`
	TokensPS  float64 `json:"tokens_per_s"`
	StepMS    float64 `json:"step_ms_median"`
	PeakBytes int64   `json:"peak_bytes"`
	Loss0     float64 `json:"loss_first"`
	Loss1     float64 `json:"loss_last"`
	Note      string  `json:"note"`
}

// flopsPerToken counts the training FLOPs of one token: 6 per matmul
// parameter (the output head included, the embedding gather not) plus the
// causal attention scores and weighted sums, 6·L·T·H·hd (forward 2·L·T·H·hd,
// backward twice that).
func flopsPerToken(c model.Config, T int) float64 {
	qd, kvd := c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	ffn := 3 * c.Hidden * c.FFN
	if c.UseMoE {
		ffn *= c.TopK + c.Shared
		ffn += c.Hidden * c.Experts
	}
	perLayer := c.Hidden*qd + 2*c.Hidden*kvd + qd*c.Hidden + ffn
	matmul := float64(c.Layers*perLayer + c.Vocab*c.Hidden)
	return 6*matmul + 6*float64(c.Layers*T*qd)
}

func (r *run) bench(preset string, B, T, steps int, peak float64) {
	r.benchCfg.preset, r.benchCfg.B, r.benchCfg.T = preset, B, T
	r.printf("== bench: %s, batch %d × %d, bf16 matmuls, AdamW, grad clip\n", preset, B, T)
	c, err := model.Preset(preset)
	if err != nil {
		r.failf("%v", err)
		return
	}
	for _, v := range []struct {
		name string
		opts cuda.Options
	}{{"ours (cuBLASLt)", cuda.Options{}}, {"ours (own GEMM)", cuda.Options{GEMM: cuda.GEMMOwn}}} {
		e, ok := r.engine(v.opts)
		if !ok {
			continue
		}
		if v.opts.GEMM != cuda.GEMMOwn && !strings.HasPrefix(e.Info().GEMM, "cuBLASLt") {
			r.printf("no cuBLASLt library: %s skipped\n", v.name)
			e.Close()
			continue
		}
		const warm = 3
		var times []float64
		t0 := time.Now()
		cfg := cuda.TrainConfig{Model: c, B: B, T: T, Steps: warm + steps, Seed: r.seed, LR: 5e-4,
			OnStep: func(s int) {
				if err := e.Flush(); err != nil {
					return
				}
				if s == warm {
					e.ResetStats()
				} else if s > warm {
					times = append(times, time.Since(t0).Seconds())
				}
				t0 = time.Now()
			}}
		res, err := cuda.Train(e, cfg)
		if err != nil {
			r.failf("%s: %v", v.name, err)
			e.Close()
			continue
		}
		st := e.Stats()
		sort.Float64s(times)
		med := times[len(times)/2]
		row := benchRow{Name: v.name, TokensPS: float64(B*T) / med, StepMS: med * 1e3, PeakBytes: st.PeakLiveBytes,
			Loss0: res.Loss[0], Loss1: res.Loss[len(res.Loss)-1],
			Note: fmt.Sprintf("%d launches/step, %d fused, device alloc peak %.2f GiB", st.Launches/steps, st.Fused/steps,
				float64(st.PeakDevBytes)/(1<<30))}
		r.rows = append(r.rows, row)
		r.printf("%s: median step %.1f ms, %.0f tokens/s, peak %.2f GiB; %s\n", v.name, row.StepMS, row.TokensPS,
			float64(row.PeakBytes)/(1<<30), row.Note)
		e.Close()

		// Where the time goes: two profiled steps (every kernel waits).
		pe, ok := r.engine(cuda.Options{GEMM: v.opts.GEMM, Profile: true})
		if !ok {
			continue
		}
		pcfg := cfg
		pcfg.Steps, pcfg.OnStep = 2, func(s int) {
			if s == 1 {
				pe.ResetStats()
			}
		}
		if _, err := cuda.Train(pe, pcfg); err == nil {
			r.profile(v.name, pe.Profile())
		}
		pe.Close()
	}
	js, _ := json.MarshalIndent(r.rows, "", "  ")
	os.WriteFile(filepath.Join(r.out, "ours.json"), js, 0o644)
}

func (r *run) profile(name string, p map[string]cuda.KernelTime) {
	type kt struct {
		name string
		cuda.KernelTime
	}
	var ks []kt
	var total time.Duration
	for n, t := range p {
		ks = append(ks, kt{n, t})
		total += t.Time
	}
	sort.Slice(ks, func(i, j int) bool { return ks[i].Time > ks[j].Time })
	fmt.Fprintf(r.logOnly, "profile of one step, %s (each kernel waited for; total %.1f ms):\n", name, total.Seconds()*1e3)
	for i, k := range ks {
		line := fmt.Sprintf("  %-24s %5d calls %8.2f ms %5.1f%%\n", k.name, k.Calls, k.Time.Seconds()*1e3,
			100*k.Time.Seconds()/total.Seconds())
		fmt.Fprint(r.logOnly, line)
		if i < 8 {
			r.printf("%s", line)
		}
	}
}

// peakTFLOPS returns the dense bf16 tensor-core peak (fp32 accumulation) of
// known GPUs by name, or 0.
func peakTFLOPS(name string) float64 {
	n := strings.ToLower(name)
	for _, p := range []struct {
		key string
		tf  float64
	}{
		{"h200", 989}, {"gh200", 989}, {"h100 pcie", 756}, {"h100 nvl", 835}, {"h100", 989}, {"h800", 989},
		{"h20", 148}, {"a100", 312}, {"a800", 312}, {"l40s", 362}, {"l40", 181}, {"l4", 121}, {"a10", 125},
		{"rtx 4090", 165}, {"rtx 3090", 71},
	} {
		if strings.Contains(n, p.key) {
			return p.tf
		}
	}
	return 0
}

// MiniMind-Zero, as projected: pretrain_hq (1.41M samples) + sft_mini_512
// (assumed 1.2M samples), one epoch each, every sample padded to 512 tokens.
const zeroSamples, zeroSeq = 1.41e6 + 1.2e6, 512

func (r *run) table(torchJSON string, peak float64) {
	if peak == 0 {
		peak = peakTFLOPS(r.info.Name)
	}
	rows := slices.Clone(r.rows)
	for _, f := range strings.Split(torchJSON, ",") {
		if f = strings.TrimSpace(f); f == "" {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			rows = append(rows, benchRow{Name: filepath.Base(f), Note: "missing: " + err.Error()})
			continue
		}
		var tr benchRow
		if err := json.Unmarshal(b, &tr); err != nil {
			rows = append(rows, benchRow{Name: filepath.Base(f), Note: "unreadable: " + err.Error()})
			continue
		}
		rows = append(rows, tr)
	}
	bp := r.benchCfg
	if bp.preset == "" {
		bp.preset, bp.B, bp.T = "minimind2-small", 32, 512
	}
	c, err := model.Preset(bp.preset)
	if err != nil {
		r.failf("%v", err)
		return
	}
	fpt := flopsPerToken(c, bp.T)
	var sb strings.Builder
	fmt.Fprintf(&sb, "\n==== gpucheck summary: %s ====\n", r.info)
	for _, s := range r.summary {
		fmt.Fprintf(&sb, "%s\n", s)
	}
	fmt.Fprintf(&sb, "\nTraining speed, %s, batch %d × %d (padded tokens), %.1f MFLOP/token; peak %.0f TFLOP/s bf16 dense\n",
		bp.preset, bp.B, bp.T, fpt/1e6, peak)
	fmt.Fprintf(&sb, "MiniMind-Zero = %.2fM samples × %d tokens (pretrain_hq 1.41M + sft_mini_512 assumed 1.2M, one epoch each);\n",
		zeroSamples/1e6, zeroSeq)
	fmt.Fprintf(&sb, "the RTX 3090 column scales this GPU's time by peak/71 TFLOP/s (same MFU assumed).\n\n")
	fmt.Fprintf(&sb, "%-22s %11s %9s %7s %10s %12s %12s\n", "", "tokens/s", "step ms", "MFU", "peak GiB", "Zero here", "Zero 3090")
	var base float64
	for _, row := range rows {
		if row.TokensPS <= 0 {
			fmt.Fprintf(&sb, "%-22s %s\n", row.Name, row.Note)
			continue
		}
		mfu, z, z3090 := "n/a", row.Note, ""
		hours := zeroSamples * zeroSeq / row.TokensPS / 3600
		z = fmt.Sprintf("%.2f h", hours)
		if peak > 0 {
			mfu = fmt.Sprintf("%.1f%%", 100*row.TokensPS*fpt/(peak*1e12))
			z3090 = fmt.Sprintf("%.2f h", hours*peak/71)
		}
		fmt.Fprintf(&sb, "%-22s %11.0f %9.1f %7s %10.2f %12s %12s\n", row.Name, row.TokensPS, row.StepMS, mfu,
			float64(row.PeakBytes)/(1<<30), z, z3090)
		if strings.HasPrefix(row.Name, "torch") && (base == 0 || row.TokensPS > base) {
			base = row.TokensPS
		}
	}
	if base > 0 && len(r.rows) > 0 {
		fmt.Fprintf(&sb, "\nours / fastest PyTorch: %.2f×\n", r.rows[0].TokensPS/base)
	}
	if r.failures > 0 {
		fmt.Fprintf(&sb, "\n%d FAILURES (see above and %s)\n", r.failures, filepath.Join(r.out, "gpucheck.log"))
	} else {
		fmt.Fprintf(&sb, "\nall checks passed\n")
	}
	r.printf("%s", sb.String())
	os.WriteFile(filepath.Join(r.out, "table.txt"), []byte(sb.String()), 0o644)
}
