package native

import (
	"context"
	"errors"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/checkpoint"
	"github.com/minimind-go/minimind/model/cpu"
)

// TestRunGolden runs the whole loop (data layout, schedule, accumulation)
// on the golden micro-batches and compares with PyTorch's run.
func TestRunGolden(t *testing.T) {
	for _, name := range goldenCases {
		t.Run(name, func(t *testing.T) {
			m, batches, out := loadGolden(t, name)
			var rows [][]int32
			for _, b := range batches {
				for r := range b.B {
					rows = append(rows, b.Input[r*b.T:(r+1)*b.T])
				}
			}
			tr, err := NewTrainer(m, goldenOptim(out))
			if err != nil {
				t.Fatal(err)
			}
			res, err := Run(context.Background(), tr, NewMemDataset(docsOfRows(rows), 0), RunConfig{
				Mode: Pretrain, Epochs: 1, BatchSize: batches[0].B, LR: out.BaseLR, MaxSeqLen: batches[0].T})
			if err != nil {
				t.Fatal(err)
			}
			if len(res.Losses) != len(out.Losses) {
				t.Fatalf("%d losses, want %d", len(res.Losses), len(out.Losses))
			}
			for i := range res.Losses {
				if e := math.Abs(res.Losses[i]-out.Losses[i]) / out.Losses[i]; e > 1e-5 {
					t.Errorf("micro-step %d: loss %.7f, want %.7f", i+1, res.Losses[i], out.Losses[i])
				}
			}
			if tr.Steps() != len(out.GradNorms) {
				t.Errorf("%d optimizer steps, want %d", tr.Steps(), len(out.GradNorms))
			}
			compareWeights(t, m.Config, tr.HostWeights(), filepath.Join("testdata", "golden", name, "after_10.safetensors"), 1e-4)
		})
	}
}

// TestRunLeftoverAccumulation: with 5 micro-batches and accumulation 2 the
// optimizer steps after micro-steps 2, 4 and 5, the last with the learning
// rate of micro-step 5 — exactly what the trainer core does by hand.
func TestRunLeftoverAccumulation(t *testing.T) {
	m, batches, out := loadGolden(t, "tiny")
	batches = batches[:5]
	var rows [][]int32
	for _, b := range batches {
		for r := range b.B {
			rows = append(rows, b.Input[r*b.T:(r+1)*b.T])
		}
	}
	o := goldenOptim(out)
	tr, err := NewTrainer(m, o)
	if err != nil {
		t.Fatal(err)
	}
	res, err := Run(context.Background(), tr, NewMemDataset(docsOfRows(rows), 0), RunConfig{
		Mode: Pretrain, Epochs: 1, BatchSize: 2, LR: 5e-4, MaxSeqLen: 12})
	if err != nil {
		t.Fatal(err)
	}
	if tr.Steps() != 3 {
		t.Errorf("%d optimizer steps, want 3", tr.Steps())
	}

	m2, _, _ := loadGolden(t, "tiny")
	ref, _ := NewTrainer(m2, o)
	sched := Schedule{LR: 5e-4, Total: 5}
	var losses []float64
	for i, b := range batches {
		r, err := ref.MicroStep(b, sched.At(i+1))
		if err != nil {
			t.Fatal(err)
		}
		losses = append(losses, r.Loss)
	}
	if _, err := ref.Step(sched.At(5)); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Losses, losses) {
		t.Errorf("losses %v, want %v", res.Losses, losses)
	}
	assertSameWeights(t, m.Config, tr.HostWeights(), ref.HostWeights())
}

func assertSameWeights(t *testing.T, cfg model.Config, a, b *model.Weights) {
	t.Helper()
	pb := cfg.Params(b)
	for i, p := range cfg.Params(a) {
		x, y := (*p.Ptr).(*model.Host).Data, (*pb[i].Ptr).(*model.Host).Data
		if !slices.Equal(x, y) {
			t.Errorf("tensor %s differs (relative error %.3g)", p.Name, relErr(x, y))
		}
	}
}

// fixture is a small training setup: the tiny preset from a fixed seed and
// synthetic documents of varied lengths.
type fixture struct {
	cfg  model.Config
	init *model.Weights
	data *Dataset
	run  RunConfig
	opt  OptimConfig
}

func newFixture(t *testing.T, packing bool) *fixture {
	t.Helper()
	cfg, err := model.Preset("tiny")
	if err != nil {
		t.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	var docs []Doc
	for range 29 {
		n := 3 + rng.IntN(14)
		toks := []int32{1}
		for range n - 2 {
			toks = append(toks, 3+int32(rng.IntN(500)))
		}
		docs = append(docs, Doc{Tokens: append(toks, 2)})
	}
	o := DefaultOptim()
	o.Accum = 2
	return &fixture{cfg: cfg, init: model.InitWeights(cfg, 5), data: NewMemDataset(docs, 0), opt: o,
		run: RunConfig{Mode: Pretrain, Epochs: 2, BatchSize: 3, LR: 1e-3, Shuffle: true, Seed: 42, Packing: packing, MaxSeqLen: 16}}
}

// trainer returns a fresh trainer from the initial weights (or a resume).
func (f *fixture) trainer(t *testing.T, r *Resume) *Trainer {
	t.Helper()
	w := f.init
	if r != nil {
		w = r.Weights
	}
	m, err := model.New(f.cfg, cpu.New(2), w)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewTrainer(m, f.opt)
	if err != nil {
		t.Fatal(err)
	}
	if r != nil {
		if err := tr.Restore(r); err != nil {
			t.Fatal(err)
		}
	}
	return tr
}

// TestResumeExact trains N micro-steps in one go, then again stopping after
// k (mid-accumulation, at an epoch boundary, by cancellation) and resuming
// from the resume checkpoint: losses and weights must match bit for bit.
func TestResumeExact(t *testing.T) {
	for _, packing := range []bool{false, true} {
		f := newFixture(t, packing)
		full := f.trainer(t, nil)
		want, err := Run(context.Background(), full, f.data, f.run)
		if err != nil {
			t.Fatal(err)
		}
		wantW := full.HostWeights()
		iters, _ := NewEpoch(f.data, 0, EpochOptions{T: 16, Packing: packing, Shuffle: true, Seed: 42})
		perEpoch := iters.Iters(3)
		for _, tc := range []struct {
			name   string
			stopAt int  // micro-steps before stopping
			cancel bool // stop by cancelling the context instead of MaxSteps
		}{
			{"mid accumulation", 5, false},
			{"at optimizer step", 4, false},
			{"at epoch end", perEpoch, false},
			{"in second epoch", perEpoch + 3, false},
			{"ctrl-c", 6, true},
		} {
			name := tc.name
			if packing {
				name += " packed"
			}
			t.Run(name, func(t *testing.T) {
				dir := t.TempDir()
				rc := f.run
				rc.ResumePath = filepath.Join(dir, "resume.safetensors")
				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				if tc.cancel {
					rc.lossHook = func(step int, loss float64) float64 {
						if step == tc.stopAt {
							cancel() // as signal.NotifyContext does on Ctrl-C
						}
						return loss
					}
				} else {
					rc.MaxSteps = tc.stopAt
				}
				_, err := Run(ctx, f.trainer(t, nil), f.data, rc)
				if !errors.Is(err, ErrInterrupted) {
					t.Fatalf("first part: error %v, want ErrInterrupted", err)
				}
				r, err := LoadResume(rc.ResumePath)
				if err != nil {
					t.Fatal(err)
				}
				if n := len(r.State.Losses); n > tc.stopAt || n < tc.stopAt-1 {
					t.Errorf("resume state holds %d losses after stopping at %d", n, tc.stopAt)
				}
				rc2 := f.run
				rc2.Resume = &r.State
				tr := f.trainer(t, r)
				got, err := Run(context.Background(), tr, f.data, rc2)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got.Losses, want.Losses) {
					t.Errorf("losses differ from the uninterrupted run:\n got %v\nwant %v", got.Losses, want.Losses)
				}
				if tr.Steps() != full.Steps() {
					t.Errorf("%d optimizer steps, want %d", tr.Steps(), full.Steps())
				}
				assertSameWeights(t, f.cfg, tr.HostWeights(), wantW)
			})
		}
	}
}

func TestResumeMismatch(t *testing.T) {
	f := newFixture(t, false)
	dir := t.TempDir()
	rc := f.run
	rc.ResumePath = filepath.Join(dir, "resume.safetensors")
	rc.MaxSteps = 2
	if _, err := Run(context.Background(), f.trainer(t, nil), f.data, rc); !errors.Is(err, ErrInterrupted) {
		t.Fatal(err)
	}
	r, err := LoadResume(rc.ResumePath)
	if err != nil {
		t.Fatal(err)
	}
	rc2 := f.run
	rc2.BatchSize = 4
	rc2.Resume = &r.State
	_, err = Run(context.Background(), f.trainer(t, r), f.data, rc2)
	if err == nil || !strings.Contains(err.Error(), "batch_size was 3, now 4") {
		t.Errorf("error %v, want a batch_size mismatch", err)
	}
}

// TestNonFiniteLoss: a NaN loss stops the run with a clear error and no
// further save; the resume checkpoint on disk is the last good one.
func TestNonFiniteLoss(t *testing.T) {
	f := newFixture(t, false)
	dir := t.TempDir()
	rc := f.run
	rc.ResumePath = filepath.Join(dir, "resume.safetensors")
	rc.OutDir = filepath.Join(dir, "out")
	rc.SaveInterval = 4
	rc.lossHook = func(step int, loss float64) float64 {
		if step == 7 {
			return math.NaN()
		}
		return loss
	}
	_, err := Run(context.Background(), f.trainer(t, nil), f.data, rc)
	if !errors.Is(err, model.ErrNonFinite) {
		t.Fatalf("error %v, want model.ErrNonFinite", err)
	}
	for _, s := range []string{"epoch 1 step 7", "diverged", "last good checkpoint", "epoch 1 step 4"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("error %q does not mention %q", err, s)
		}
	}
	r, err := LoadResume(rc.ResumePath)
	if err != nil {
		t.Fatal(err)
	}
	if r.State.Step != 4 || len(r.State.Losses) != 4 {
		t.Errorf("resume checkpoint at step %d with %d losses, want step 4", r.State.Step, len(r.State.Losses))
	}
	if err := f.cfg.CheckFinite(r.Weights); err != nil {
		t.Error(err)
	}
	if _, _, err := checkpoint.Load(rc.OutDir); err != nil {
		t.Errorf("the saved weights do not load: %v", err)
	}
}

// failingWriter fails every write.
type failingWriter struct{}

func (failingWriter) Write([]byte) (int, error) { return 0, errors.New("disk full (injected)") }

// TestFailedSave: when a save fails the run stops with the error and the
// previous checkpoint stays intact.
func TestFailedSave(t *testing.T) {
	t.Run("resume writer error", func(t *testing.T) {
		f := newFixture(t, false)
		dir := t.TempDir()
		rc := f.run
		rc.ResumePath = filepath.Join(dir, "resume.safetensors")
		rc.SaveInterval = 2
		saves := 0
		rc.saveWriter = func(w io.Writer) io.Writer {
			saves++
			if saves == 2 {
				return failingWriter{}
			}
			return w
		}
		_, err := Run(context.Background(), f.trainer(t, nil), f.data, rc)
		if err == nil || !strings.Contains(err.Error(), "disk full (injected)") {
			t.Fatalf("error %v, want the injected write error", err)
		}
		r, err := LoadResume(rc.ResumePath)
		if err != nil {
			t.Fatalf("the previous checkpoint is damaged: %v", err)
		}
		if r.State.Step != 2 {
			t.Errorf("checkpoint at step %d, want the first save at step 2", r.State.Step)
		}
		if left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(left) > 0 {
			t.Errorf("temporary files left behind: %v", left)
		}
	})
	t.Run("unwritable output folder", func(t *testing.T) {
		f := newFixture(t, false)
		dir := t.TempDir()
		rc := f.run
		rc.OutDir = filepath.Join(dir, "out")
		rc.SaveInterval = 2
		rc.MaxSteps = 3
		tr := f.trainer(t, nil)
		if _, err := Run(context.Background(), tr, f.data, rc); !errors.Is(err, ErrInterrupted) {
			t.Fatal(err)
		}
		before, err := os.ReadFile(filepath.Join(rc.OutDir, checkpoint.SafetensorsFile))
		if err != nil {
			t.Fatal(err)
		}
		// Replace the weights file's folder entry by making the file a
		// folder's name clash: model.safetensors becomes unreplaceable.
		block := filepath.Join(rc.OutDir, checkpoint.SafetensorsFile+".blocked")
		if err := os.Rename(filepath.Join(rc.OutDir, checkpoint.SafetensorsFile), block); err != nil {
			t.Fatal(err)
		}
		if err := os.Mkdir(filepath.Join(rc.OutDir, checkpoint.SafetensorsFile), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(rc.OutDir, checkpoint.SafetensorsFile, "keep"), nil, 0o644); err != nil {
			t.Fatal(err)
		}
		rc.MaxSteps = 0
		_, err = Run(context.Background(), f.trainer(t, nil), f.data, rc)
		if err == nil || !strings.Contains(err.Error(), "saving") {
			t.Fatalf("error %v, want a save error", err)
		}
		after, err := os.ReadFile(block)
		if err != nil || !slices.Equal(before, after) {
			t.Errorf("the earlier weights changed (%v)", err)
		}
	})
}

// TestRunOutputs checks the files of a finished run: the Hugging Face
// folder (loadable, tokenizer files copied), the metrics log and the loss
// curve.
func TestRunOutputs(t *testing.T) {
	f := newFixture(t, true)
	dir := t.TempDir()
	tokFile := filepath.Join(dir, "tokenizer.json")
	os.WriteFile(tokFile, []byte(`{"fake":true}`), 0o644)
	rc := f.run
	rc.OutDir = filepath.Join(dir, "out")
	rc.CopyFiles = []string{tokFile}
	rc.LogInterval = 2
	rc.SaveDType = "F16"
	var logs []string
	rc.Log = func(s string) { logs = append(logs, s) }
	var bar strings.Builder
	rc.Progress = &bar
	tr := f.trainer(t, nil)
	res, err := Run(context.Background(), tr, f.data, rc)
	if err != nil {
		t.Fatal(err)
	}
	cfg, w, err := checkpoint.Load(rc.OutDir)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Hidden != f.cfg.Hidden {
		t.Errorf("saved config hidden %d", cfg.Hidden)
	}
	if e := relErr(w.Embed.(*model.Host).Data, tr.HostWeights().Embed.(*model.Host).Data); e > 1e-3 {
		t.Errorf("F16 weights differ by %.3g", e)
	}
	if b, _ := os.ReadFile(filepath.Join(rc.OutDir, "tokenizer.json")); string(b) != `{"fake":true}` {
		t.Error("tokenizer.json was not copied")
	}
	mlog, err := os.ReadFile(filepath.Join(rc.OutDir, "train_log.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(mlog), "\n"); n < len(res.Losses)/2 {
		t.Errorf("%d metrics lines for %d micro-steps", n, len(res.Losses))
	}
	svg, err := os.ReadFile(filepath.Join(rc.OutDir, "loss.svg"))
	if err != nil || !strings.HasPrefix(string(svg), "<svg") || !strings.Contains(string(svg), "polyline") {
		t.Errorf("loss.svg missing or malformed (%v)", err)
	}
	all := strings.Join(logs, "\n")
	if !strings.Contains(all, "padding") || !strings.Contains(all, "instead of") {
		t.Errorf("the log does not report the padding saved by packing: %q", all)
	}
	if !strings.Contains(bar.String(), "tok/s") {
		t.Errorf("progress output lacks tokens/s: %q", bar.String())
	}
}
