package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/cpu"
	"github.com/minimind-go/minimind/native"
)

// bench measures training tokens/s on synthetic micro-batches, over all
// timed steps and for the fastest step (the least disturbed on a shared
// machine), and the CPU time per step (all threads; less sensitive to other
// load than wall time). Each step is forward, the stage's loss, backward,
// global-norm clipping and AdamW, as in the real loop (accumulation 1).
// With several --stage values the stages take turns step by step, so their
// ratios come from the same minutes of the machine.
func bench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("mmtrain bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	preset := fs.String("preset", "minimind2-small", "architecture preset")
	batch := fs.Int("batch_size", 4, "rows per micro-batch (DPO: half of them pairs' chosen, half rejected)")
	seqLen := fs.Int("max_seq_len", 256, "tokens per row")
	steps := fs.Int("steps", 5, "timed steps")
	warm := fs.Int("warmup", 1, "untimed steps first")
	threads := fs.Int("threads", 0, "CPU threads (0: all cores)")
	seed := fs.Uint64("seed", 42, "seed of weights and tokens")
	stages := fs.String("stage", "pretrain", "comma-separated stages: pretrain, sft, lora, dpo, dpo_ref_cache, distill, reason")
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
	host := model.InitWeights(cfg, *seed)
	type runner struct {
		name      string
		step      func() (float64, error)
		el, best  float64
		cpu, loss float64
	}
	var runs []*runner
	for _, st := range strings.Split(*stages, ",") {
		r, err := benchStage(st, cfg, eng, host, *batch, *seqLen, *seed)
		if err != nil {
			return err
		}
		runs = append(runs, &runner{name: st, step: r})
	}
	for _, r := range runs {
		for range *warm {
			if _, err := r.step(); err != nil {
				return err
			}
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
	for i := range *steps {
		for _, r := range runs {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			start, cpu0 := time.Now(), cpuSeconds()
			if r.loss, err = r.step(); err != nil {
				return fmt.Errorf("%s step %d: %w", r.name, i+1, err)
			}
			s := time.Since(start).Seconds()
			r.el += s
			if c := cpuSeconds(); cpu0 >= 0 && c >= 0 {
				r.cpu += c - cpu0
			} else {
				r.cpu = math.NaN()
			}
			if i == 0 || s < r.best {
				r.best = s
			}
		}
	}
	n := *batch * *seqLen
	for _, r := range runs {
		cpuPerStep := "unknown"
		if !math.IsNaN(r.cpu) {
			cpuPerStep = fmt.Sprintf("%.3f", r.cpu/float64(*steps))
		}
		label := *preset
		if len(runs) > 1 || r.name != "pretrain" {
			label += " " + r.name
		}
		ratio := ""
		if len(runs) > 1 {
			ratio = fmt.Sprintf(", %.2f× the %s tokens/s", runs[0].el/r.el, runs[0].name)
		}
		fmt.Fprintf(stdout, "%s batch %d×%d, %d threads: %.1f tokens/s, best step %.1f tokens/s (%.3f s/step, CPU %s s/step, %d steps, last loss %.4f%s)\n",
			label, *batch, *seqLen, eng.Threads(), float64(n**steps)/r.el, float64(n)/r.best, r.el/float64(*steps), cpuPerStep, *steps, r.loss, ratio)
	}
	return nil
}

// benchStage prepares one stage's training step on fresh copies of the
// weights: synthetic rows of random tokens (SFT-like stages label the second
// half of each row; DPO rows are pairs; the distillation teacher is a copy
// of the student).
func benchStage(stage string, cfg model.Config, eng *cpu.Engine, host *model.Weights, batch, seqLen int, seed uint64) (func() (float64, error), error) {
	m, err := model.New(cfg, eng, host)
	if err != nil {
		return nil, err
	}
	opt := native.DefaultOptim()
	var tr *native.Trainer
	if stage == "lora" {
		if _, err := model.AttachLoRA(m, model.LoRAOptions{Rank: 16, Seed: seed}); err != nil {
			return nil, err
		}
		tr, err = native.NewLoRATrainer(m, opt)
	} else {
		tr, err = native.NewTrainer(m, opt)
	}
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(seed, 1))
	n := batch * seqLen
	b := model.Batch{B: batch, T: seqLen, Input: make([]int32, n), Labels: make([]int32, n)} // [B, T]
	label := func(i int) bool { return stage == "pretrain" || i%seqLen >= seqLen/2 }
	switch stage {
	case "pretrain", "sft", "lora":
	case "dpo", "dpo_ref_cache":
		if batch%2 != 0 {
			return nil, fmt.Errorf("%w: dpo needs an even batch_size (pairs)", errUsage)
		}
		ref, err := model.New(cfg, eng, host)
		if err != nil {
			return nil, err
		}
		obj := &native.DPO{Beta: 0.15, Ref: ref}
		if stage == "dpo_ref_cache" {
			obj.Ref = nil
			obj.Cache = &native.RefCache{Chosen: make([]float64, batch/2), Rejected: make([]float64, batch/2)}
			b.Samples = make([]int32, batch/2)
			for i := range b.Samples {
				b.Samples[i] = int32(i)
			}
		}
		tr.Objective = obj
	case "distill":
		teacher, err := model.New(cfg, eng, host)
		if err != nil {
			return nil, err
		}
		tr.Objective = &native.Distill{Teacher: teacher, Alpha: 0.5, Temp: 1.5}
	case "reason":
		tr.Objective = &native.Reason{TagIDs: []int32{25, 26}, Weight: 10}
	default:
		return nil, fmt.Errorf("%w: unknown stage %q", errUsage, stage)
	}
	return func() (float64, error) {
		for i := range b.Input {
			b.Input[i] = int32(3 + rng.IntN(cfg.Vocab-3))
			b.Labels[i] = model.IgnoreIndex
			if label(i) {
				b.Labels[i] = b.Input[i]
			}
		}
		r, err := tr.MicroStep(b, 5e-4)
		return r.Loss, err
	}, nil
}
