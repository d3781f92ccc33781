package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"runtime/pprof"
	"time"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/cpu"
	"github.com/minimind-go/minimind/native"
)

// bench measures training tokens/s on synthetic micro-batches, over all
// timed steps and for the fastest step (the least disturbed on a shared
// machine), and the CPU time per step (all threads; less sensitive to other
// load than wall time). Each step is forward, cross-entropy, backward, global-norm
// clipping and AdamW, as in the real loop (accumulation 1).
func bench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mmtrain bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	preset := fs.String("preset", "minimind2-small", "architecture preset")
	batch := fs.Int("batch_size", 4, "rows per micro-batch")
	seqLen := fs.Int("max_seq_len", 256, "tokens per row")
	steps := fs.Int("steps", 5, "timed steps")
	warm := fs.Int("warmup", 1, "untimed steps first")
	threads := fs.Int("threads", 0, "CPU threads (0: all cores)")
	seed := fs.Uint64("seed", 42, "seed of weights and tokens")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the timed steps to this file")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	if *batch < 1 || *seqLen < 2 || *steps < 1 || *warm < 0 {
		return fmt.Errorf("%w: batch_size, max_seq_len and steps must be positive", errUsage)
	}
	cfg, err := model.Preset(*preset)
	if err != nil {
		return fmt.Errorf("%w: %v", errUsage, err)
	}
	eng := cpu.New(*threads)
	m, err := model.New(cfg, eng, model.InitWeights(cfg, *seed))
	if err != nil {
		return err
	}
	tr, err := native.NewTrainer(m, native.DefaultOptim())
	if err != nil {
		return err
	}
	rng := rand.New(rand.NewPCG(*seed, 1))
	n := *batch * *seqLen
	b := model.Batch{B: *batch, T: *seqLen, Input: make([]int32, n), Labels: make([]int32, n)} // [B, T]
	step := func() (float64, error) {
		for i := range b.Input {
			b.Input[i] = int32(3 + rng.IntN(cfg.Vocab-3))
			b.Labels[i] = b.Input[i]
		}
		r, err := tr.MicroStep(b, 5e-4)
		return r.Loss, err
	}
	for range *warm {
		if _, err := step(); err != nil {
			return err
		}
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	var loss, el, best float64
	cpu0 := cpuSeconds()
	for i := range *steps {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		start := time.Now()
		if loss, err = step(); err != nil {
			return fmt.Errorf("step %d: %w", i+1, err)
		}
		s := time.Since(start).Seconds()
		el += s
		if i == 0 || s < best {
			best = s
		}
	}
	cpuPerStep := "unknown"
	if c := cpuSeconds(); cpu0 >= 0 && c >= 0 {
		cpuPerStep = fmt.Sprintf("%.3f", (c-cpu0)/float64(*steps))
	}
	fmt.Fprintf(stdout, "%s batch %d×%d, %d threads: %.1f tokens/s, best step %.1f tokens/s (%.3f s/step, CPU %s s/step, %d steps, last loss %.4f)\n",
		*preset, *batch, *seqLen, eng.Threads(), float64(n**steps)/el, float64(n)/best, el/float64(*steps), cpuPerStep, *steps, loss)
	return nil
}
