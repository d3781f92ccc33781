package native

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"time"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/checkpoint"
	"github.com/minimind-go/minimind/progress"
)

// ErrInterrupted is returned by Run when its context is cancelled; a resume
// checkpoint has been written by then (unless saving failed too).
var ErrInterrupted = errors.New("native: training interrupted")

// RunConfig describes a training run over a dataset.
type RunConfig struct {
	Mode      Mode // recorded in the resume state
	Epochs    int
	BatchSize int
	LR        float64
	Warmup    int // linear warm-up micro-steps (0: none, as MiniMind)
	Shuffle   bool
	Seed      uint64
	Packing   bool
	MaxSeqLen int

	// LogInterval is how often (in micro-steps) a metrics line is written;
	// SaveInterval how often checkpoints are (at the first optimizer step
	// at or after every SaveInterval micro-steps of an epoch, and at the end
	// of every epoch). 0 disables interval saves.
	LogInterval, SaveInterval int

	// OutDir receives the Hugging Face folder (config.json,
	// model.safetensors, CopyFiles), the metrics log train_log.jsonl and the
	// loss curve loss.svg. Empty: nothing is written.
	OutDir    string
	SaveDType string   // "F32" (default) or "F16"
	CopyFiles []string // files copied into OutDir (tokenizer files)
	// ResumePath is the resume checkpoint written with every save and on
	// interruption. Empty: none.
	ResumePath string
	// Resume continues a run from its state (nil: a fresh run). The
	// trainer must already hold its weights and moments (Trainer.Restore).
	Resume *ResumeState
	// DataKey identifies the data (CacheKey.Hash), stored for resume checks.
	DataKey string

	// Progress receives the progress bar (nil: none); Log one-line
	// messages (nil: none).
	Progress io.Writer
	Log      func(msg string)

	// MaxSteps stops after that many micro-steps in total, as an
	// interruption would (for tests and benchmarks); 0: no limit.
	MaxSteps int

	// test hooks
	lossHook   func(step int, loss float64) float64 // replaces the loss seen by the loop
	saveWriter func(io.Writer) io.Writer            // wraps the resume file writer
}

// RunResult summarises a finished (or stopped) run.
type RunResult struct {
	State    ResumeState // where the run stands (the last saved position)
	Losses   []float64   // every micro-step loss, in order
	Tokens   int64       // tokens trained on in this process (padding included)
	Elapsed  time.Duration
	PadShare float64 // share of padding tokens in the first epoch's rows
}

// metric is one line of train_log.jsonl.
type metric struct {
	Time     string  `json:"time"`
	Epoch    int     `json:"epoch"`
	Step     int     `json:"step"`
	Iters    int     `json:"iters"`
	Global   int     `json:"global_step"`
	Loss     float64 `json:"loss"`
	LossAvg  float64 `json:"loss_avg"`
	CE       float64 `json:"ce"`
	Aux      float64 `json:"aux"`
	LR       float64 `json:"lr"`
	GradNorm float64 `json:"grad_norm,omitempty"`
	TokensPS float64 `json:"tokens_per_s"`
	ElapsedS float64 `json:"elapsed_s"`
	OptSteps int     `json:"opt_steps"`
	Tokens   int64   `json:"tokens"`
	Event    string  `json:"event,omitempty"` // "resumed" marks where a resumed run continues
}

// Run trains tr on data for cfg.Epochs epochs. It follows MiniMind's loop:
// the learning rate of every micro-step is Schedule.At(t) with t counting
// micro-steps over the whole run; the optimizer steps every
// accumulation_steps micro-batches and after the last micro-batch of an
// epoch. It writes checkpoints as configured, and on cancellation of ctx a
// resume checkpoint at the last optimizer step, returning ErrInterrupted. A
// NaN or infinite loss stops the run with an error wrapping
// model.ErrNonFinite, without saving, so the last good checkpoint remains.
func Run(ctx context.Context, tr *Trainer, data *Dataset, cfg RunConfig) (*RunResult, error) {
	eopt := EpochOptions{Shuffle: cfg.Shuffle, Seed: cfg.Seed, Packing: cfg.Packing, T: cfg.MaxSeqLen}
	layout := func(e int) (batcher, error) { return NewEpoch(data, e, eopt) }
	return runLoop(ctx, tr, data, layout, cfg)
}

// batcher is one epoch's micro-batches (Epoch, or a stage's own layout).
type batcher interface {
	Rows() int
	Iters(b int) int
	Batch(i, b int) (model.Batch, error)
	PadShare() float64
}

// runLoop is Run over epochs laid out by layout; data (may be nil) is only
// used for the packing report.
func runLoop(ctx context.Context, tr *Trainer, data *Dataset, layout func(e int) (batcher, error), cfg RunConfig) (*RunResult, error) {
	if cfg.Epochs < 1 || cfg.BatchSize < 1 || cfg.MaxSeqLen < 2 {
		return nil, fmt.Errorf("native: epochs (%d), batch_size (%d) and max_seq_len (%d) must be positive", cfg.Epochs, cfg.BatchSize, cfg.MaxSeqLen)
	}
	if !(cfg.LR >= 0) {
		return nil, fmt.Errorf("native: learning_rate %g is invalid", cfg.LR)
	}
	logf := func(format string, args ...any) {
		if cfg.Log != nil {
			cfg.Log(fmt.Sprintf(format, args...))
		}
	}
	// Lay out every epoch up front: with packing the number of rows can
	// differ between epochs, and the schedule needs the total.
	epochs := make([]batcher, cfg.Epochs)
	starts := make([]int, cfg.Epochs+1) // global micro-step index of each epoch's start
	for e := range epochs {
		ep, err := layout(e)
		if err != nil {
			return nil, err
		}
		epochs[e] = ep
		starts[e+1] = starts[e] + ep.Iters(cfg.BatchSize)
	}
	sched := Schedule{LR: cfg.LR, Total: starts[cfg.Epochs], Warmup: cfg.Warmup}
	res := &RunResult{PadShare: epochs[0].PadShare()}
	if cfg.Packing && data != nil {
		unpacked, err := NewEpoch(data, 0, EpochOptions{T: cfg.MaxSeqLen})
		if err != nil {
			return nil, err
		}
		logf("data: packing %d samples into %d rows: padding %.1f%% of row tokens instead of %.1f%%",
			data.Len(), epochs[0].Rows(), 100*epochs[0].PadShare(), 100*unpacked.PadShare())
	} else {
		logf("data: %d rows, padding %.1f%% of row tokens", epochs[0].Rows(), 100*epochs[0].PadShare())
	}

	state := ResumeState{Mode: cfg.Mode, Seed: cfg.Seed, Shuffle: cfg.Shuffle, Packing: cfg.Packing,
		BatchSize: cfg.BatchSize, Accum: tr.Optim.Accum, MaxSeqLen: cfg.MaxSeqLen, Epochs: cfg.Epochs,
		LR: cfg.LR, DataKey: cfg.DataKey}
	if r := cfg.Resume; r != nil {
		if err := r.Check(state); err != nil {
			return nil, err
		}
		if r.OptSteps != tr.Steps() {
			return nil, fmt.Errorf("native: the trainer holds %d optimizer steps, the resume state %d (call Restore first)", tr.Steps(), r.OptSteps)
		}
		if r.Epoch > cfg.Epochs || (r.Epoch < cfg.Epochs && r.Step > epochs[r.Epoch].Iters(cfg.BatchSize)) {
			return nil, fmt.Errorf("native: the resume position (epoch %d, step %d) is past this run", r.Epoch+1, r.Step)
		}
		state.Epoch, state.Step = r.Epoch, r.Step
		state.Losses = append([]float64(nil), r.Losses...)
		state.Tokens = r.Tokens
		logf("resume: epoch %d, step %d, %d optimizer steps", r.Epoch+1, r.Step, r.OptSteps)
		if r.Epochs != cfg.Epochs || r.LR != cfg.LR {
			logf("resume: epochs %d → %d, learning_rate %g → %g: the schedule differs from the first run's", r.Epochs, cfg.Epochs, r.LR, cfg.LR)
		}
	}
	// saved is the position of the last optimizer step (what a resume
	// checkpoint written now describes).
	saved := state
	// lastSaved describes the newest checkpoint on disk, for messages.
	lastSaved := "none was written"
	if cfg.Resume != nil {
		lastSaved = fmt.Sprintf("%s (epoch %d step %d) is kept", cfg.ResumePath, saved.Epoch+1, saved.Step)
	}
	total := starts[cfg.Epochs]
	startGlobal := min(starts[min(state.Epoch, cfg.Epochs)]+state.Step, total)

	var mlog io.WriteCloser
	if cfg.OutDir != "" {
		if err := os.MkdirAll(cfg.OutDir, 0o755); err != nil {
			return nil, fmt.Errorf("native: output folder: %w", err)
		}
		f, err := os.OpenFile(filepath.Join(cfg.OutDir, "train_log.jsonl"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, fmt.Errorf("native: metrics log: %w", err)
		}
		mlog = f
		defer f.Close()
		if cfg.Resume != nil {
			m := metric{Time: time.Now().UTC().Format(time.RFC3339), Epoch: state.Epoch + 1, Step: state.Step,
				Global: startGlobal, OptSteps: tr.Steps(), Tokens: state.Tokens, Event: "resumed"}
			if n := len(state.Losses); n > 0 {
				m.Loss = state.Losses[n-1]
			}
			line, err := json.Marshal(m)
			if err == nil {
				_, err = f.Write(append(line, '\n'))
			}
			if err != nil {
				return nil, fmt.Errorf("native: metrics log: %w", err)
			}
		}
	}
	var bar *progress.Bar
	if cfg.Progress != nil {
		bar = progress.New(cfg.Progress, total, progress.Options{Label: string(cfg.Mode)})
		bar.SetBase(startGlobal)
		logf = func(format string, args ...any) {
			msg := fmt.Sprintf(format, args...)
			if cfg.Log != nil {
				bar.Above(func() { cfg.Log(msg) })
			} else {
				bar.Log(msg)
			}
		}
	}

	save := func(final bool) error {
		if cfg.ResumePath != "" {
			if err := tr.saveResume(cfg.ResumePath, saved, cfg.saveWriter); err != nil {
				return err
			}
		}
		if cfg.OutDir != "" {
			if err := saveWeights(tr, cfg); err != nil {
				return err
			}
			if final {
				if err := writeLossSVG(filepath.Join(cfg.OutDir, "loss.svg"), saved.Losses); err != nil {
					return err
				}
			}
		}
		where := cfg.ResumePath
		if where == "" {
			where = cfg.OutDir
		}
		lastSaved = fmt.Sprintf("%s (epoch %d step %d) is kept", where, saved.Epoch+1, saved.Step)
		return nil
	}

	start := time.Now()
	lastLog := start
	var logTokens int64
	var logLoss float64
	logN := 0
	global := startGlobal
	var lastNorm float64
	interrupted := func() (*RunResult, error) {
		res.State, res.Losses, res.Elapsed = saved, saved.Losses, time.Since(start)
		if bar != nil {
			bar.Finish("interrupted")
		}
		if err := save(false); err != nil {
			return res, fmt.Errorf("%w (and saving the resume checkpoint failed: %w)", ErrInterrupted, err)
		}
		logf("stopped at epoch %d step %d; resume checkpoint %s", saved.Epoch+1, saved.Step, cfg.ResumePath)
		return res, ErrInterrupted
	}

	for e := state.Epoch; e < cfg.Epochs; e++ {
		ep := epochs[e]
		iters := ep.Iters(cfg.BatchSize)
		first := 1
		if e == state.Epoch {
			first = state.Step + 1
		}
		saveDue := false
		for step := first; step <= iters; step++ {
			if ctx.Err() != nil || (cfg.MaxSteps > 0 && global-startGlobal >= cfg.MaxSteps) {
				tr.ZeroGrads() // discard a partial accumulation: resume redoes it
				return interrupted()
			}
			b, err := ep.Batch(step-1, cfg.BatchSize)
			if err != nil {
				return res, err
			}
			global++
			lr := sched.At(starts[e] + step)
			r, err := tr.MicroStep(b, lr)
			loss := r.Loss
			if err == nil && cfg.lossHook != nil {
				if loss = cfg.lossHook(global, loss); !finite(loss) {
					err = fmt.Errorf("%w: %v", model.ErrNonFinite, loss)
				}
			}
			if err != nil {
				if bar != nil {
					bar.Finish("failed")
				}
				where := fmt.Sprintf("epoch %d step %d", e+1, step)
				if errors.Is(err, model.ErrNonFinite) {
					return res, fmt.Errorf("native: %s: training diverged: %w; stopping without saving; the last good checkpoint: %s", where, err, lastSaved)
				}
				return res, fmt.Errorf("native: %s: %w", where, err)
			}
			tok := int64(b.B * b.T)
			state.Tokens += tok
			res.Tokens += tok
			logTokens += tok
			state.Losses = append(state.Losses, loss)
			logLoss += loss
			logN++
			if step == iters && tr.Pending() > 0 { // leftover partial accumulation
				if r.GradNorm, err = tr.Step(lr); err != nil {
					return res, fmt.Errorf("native: epoch %d step %d: %w", e+1, step, err)
				}
				r.Stepped = true
			}
			if r.Stepped {
				lastNorm = r.GradNorm
				state.Epoch, state.Step = e, step
				if step == iters {
					state.Epoch, state.Step = e+1, 0
				}
				state.OptSteps = tr.Steps()
				saved = state
				saved.Losses = state.Losses[:len(state.Losses):len(state.Losses)]
			}
			if cfg.SaveInterval > 0 && step%cfg.SaveInterval == 0 {
				saveDue = true
			}
			if (saveDue && r.Stepped) || step == iters {
				if err := save(e == cfg.Epochs-1 && step == iters); err != nil {
					if bar != nil {
						bar.Finish("save failed")
					}
					return res, fmt.Errorf("native: epoch %d step %d: saving: %w", e+1, step, err)
				}
				saveDue = false
			}
			now := time.Now()
			status := fmt.Sprintf("ep %d/%d loss %.4f lr %.3g", e+1, cfg.Epochs, loss, lr)
			if dt := now.Sub(lastLog).Seconds(); dt > 0 {
				status += fmt.Sprintf(" %.0f tok/s", float64(logTokens)/dt)
			}
			if bar != nil {
				bar.Update(global, status)
			}
			if (cfg.LogInterval > 0 && step%cfg.LogInterval == 0) || step == iters {
				dt := now.Sub(lastLog).Seconds()
				m := metric{Time: now.UTC().Format(time.RFC3339), Epoch: e + 1, Step: step, Iters: iters, Global: global,
					Loss: loss, LossAvg: logLoss / float64(logN), CE: r.CE, Aux: r.Aux, LR: lr, GradNorm: lastNorm,
					ElapsedS: now.Sub(start).Seconds(), OptSteps: tr.Steps(), Tokens: state.Tokens}
				if dt > 0 {
					m.TokensPS = float64(logTokens) / dt
				}
				if mlog != nil {
					line, err := json.Marshal(m)
					if err == nil {
						_, err = mlog.Write(append(line, '\n'))
					}
					if err != nil {
						return res, fmt.Errorf("native: metrics log: %w", err)
					}
				}
				if bar == nil || !bar.Terminal() {
					logf("epoch %d/%d step %d/%d loss %.4f (avg %.4f) lr %.3g grad_norm %.3f %.0f tok/s",
						e+1, cfg.Epochs, step, iters, loss, m.LossAvg, lr, lastNorm, m.TokensPS)
				}
				lastLog, logTokens, logLoss, logN = now, 0, 0, 0
			}
		}
	}
	if bar != nil {
		bar.Finish(fmt.Sprintf("loss %.4f", lastOr(state.Losses)))
	}
	res.State, res.Losses, res.Elapsed = saved, saved.Losses, time.Since(start)
	return res, nil
}

func lastOr(xs []float64) float64 {
	if len(xs) == 0 {
		return math.NaN()
	}
	return xs[len(xs)-1]
}

// saveWeights writes the Hugging Face folder: config.json, model.safetensors
// and copies of cfg.CopyFiles, each file atomically.
func saveWeights(tr *Trainer, cfg RunConfig) error {
	if l := tr.lora; l != nil {
		return checkpoint.SaveAdapters(AdapterBase(cfg.OutDir), tr.Adapters())
	}
	return saveFolder(cfg.OutDir, tr, cfg.SaveDType, cfg.CopyFiles)
}

// saveFolder writes tr's weights as a Hugging Face folder in outDir
// (config.json, model.safetensors in dtype, default F32) with copies of
// copyFiles, each file atomically.
func saveFolder(outDir string, tr *Trainer, dtype string, copyFiles []string) error {
	if dtype == "" {
		dtype = "F32"
	}
	if err := checkpoint.Save(outDir, tr.Model.Config, tr.HostWeights(), checkpoint.SaveOptions{DType: dtype}); err != nil {
		return err
	}
	for _, p := range copyFiles {
		data, err := os.ReadFile(p)
		if err != nil {
			return fmt.Errorf("native: %w", err)
		}
		if err := checkpoint.WriteFileAtomic(filepath.Join(outDir, filepath.Base(p)), data); err != nil {
			return err
		}
	}
	return nil
}

// AdapterBase is where a LoRA run writes its adapters in outDir:
// outDir/<name of outDir> + ".safetensors", ".pth" and "_peft".
func AdapterBase(outDir string) string {
	return filepath.Join(outDir, filepath.Base(outDir))
}
