package native

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/checkpoint"
	"github.com/minimind-go/minimind/model/safetensors"
)

// resumeVersion changes when the resume file layout changes.
const resumeVersion = 1

// Metadata keys of a resume file.
const (
	resumeStateKey  = "minimind.resume"
	resumeConfigKey = "minimind.config"
	resumeLoRAKey   = "minimind.lora" // {"rank", "alpha"} when adapters train
)

// loraMeta records the adapters' settings in a resume file.
type loraMeta struct {
	Rank  int     `json:"rank"`
	Alpha float64 `json:"alpha"`
}

// Prefixes of the optimizer tensors in a resume file.
const (
	expAvgPrefix   = "optimizer.exp_avg."
	expAvgSqPrefix = "optimizer.exp_avg_sq."
)

// ResumeState is where a run stands: enough, with the weights and AdamW
// moments, to continue exactly as if it had not stopped. A resume
// checkpoint is always taken right after an optimizer step (or at the start
// of an epoch), so no partial gradient is needed.
type ResumeState struct {
	Version int `json:"version"`
	// Epoch (from 0) and Step (micro-steps done in it) of the next micro-step.
	Epoch int `json:"epoch"`
	Step  int `json:"step"`
	// OptSteps is AdamW's step count.
	OptSteps int `json:"opt_steps"`
	// Settings that fix the data order and the schedule.
	Mode      Mode    `json:"mode"`
	Seed      uint64  `json:"seed"`
	Shuffle   bool    `json:"shuffle"`
	Packing   bool    `json:"packing"`
	BatchSize int     `json:"batch_size"`
	Accum     int     `json:"accumulation_steps"`
	MaxSeqLen int     `json:"max_seq_len"`
	Epochs    int     `json:"epochs"`
	LR        float64 `json:"learning_rate"`
	DataKey   string  `json:"data_key"` // CacheKey.Hash of the data
	// Losses holds the loss of every micro-step so far, in order.
	Losses []float64 `json:"losses"`
	// Tokens counts the tokens (padding included) of those micro-steps.
	Tokens int64 `json:"tokens"`
}

// Check reports settings of want (the new run) that differ from s in a way
// that would change the data order or the meaning of the position.
func (s *ResumeState) Check(want ResumeState) error {
	var errs []error
	diff := func(name string, a, b any) {
		if a != b {
			errs = append(errs, fmt.Errorf("%s was %v, now %v", name, a, b))
		}
	}
	diff("mode", s.Mode, want.Mode)
	diff("seed", s.Seed, want.Seed)
	diff("shuffle", s.Shuffle, want.Shuffle)
	diff("packing", s.Packing, want.Packing)
	diff("batch_size", s.BatchSize, want.BatchSize)
	diff("accumulation_steps", s.Accum, want.Accum)
	diff("max_seq_len", s.MaxSeqLen, want.MaxSeqLen)
	diff("data", s.DataKey, want.DataKey)
	if len(errs) > 0 {
		return fmt.Errorf("native: the resume checkpoint does not fit this run: %w", errors.Join(errs...))
	}
	return nil
}

// SaveResume writes the trainer's weights and AdamW moments with state to
// path atomically (a temporary file in the same folder, synced, then
// renamed), so a failure leaves an earlier file at path intact. state's
// OptSteps is set from the trainer.
func (t *Trainer) SaveResume(path string, state ResumeState) error {
	return t.saveResume(path, state, nil)
}

// saveResume is SaveResume with an optional writer wrapper (tests inject
// failures through it).
func (t *Trainer) saveResume(path string, state ResumeState, wrap func(io.Writer) io.Writer) error {
	if t.pending != 0 {
		return fmt.Errorf("native: cannot save a resume checkpoint with %d micro-batches of gradient pending", t.pending)
	}
	state.Version = resumeVersion
	state.OptSteps = t.steps
	sj, err := json.Marshal(state)
	if err != nil {
		return fmt.Errorf("native: resume state: %w", err)
	}
	cj, err := json.Marshal(t.Model.Config)
	if err != nil {
		return fmt.Errorf("native: resume config: %w", err)
	}
	var ts []safetensors.Tensor
	// The model's weights (for LoRA the frozen base, so a resume needs no
	// other file), then the adapters, then the AdamW moments of what trains.
	for _, p := range t.Model.Config.Params(t.Model.W) {
		ts = append(ts, safetensors.Tensor{Name: p.Name, DType: safetensors.F32, Shape: p.Shape, Data: t.eng.Read(*p.Ptr)})
	}
	add := func(prefix string, list []model.Tensor) {
		for i, x := range list {
			ts = append(ts, safetensors.Tensor{Name: prefix + t.names[i], DType: safetensors.F32, Shape: t.shapes[i], Data: t.eng.Read(x)})
		}
	}
	meta := map[string]string{"format": "pt", resumeStateKey: string(sj), resumeConfigKey: string(cj)}
	if l := t.lora; l != nil {
		add("", t.weights)
		lj, err := json.Marshal(loraMeta{Rank: l.Rank, Alpha: l.Alpha})
		if err != nil {
			return fmt.Errorf("native: resume: %w", err)
		}
		meta[resumeLoRAKey] = string(lj)
	}
	add(expAvgPrefix, t.m)
	add(expAvgSqPrefix, t.v)
	return checkpoint.WriteAtomic(path, func(w io.Writer) error {
		if wrap != nil {
			w = wrap(w)
		}
		return safetensors.Write(w, ts, meta)
	})
}

// Resume is a loaded resume checkpoint.
type Resume struct {
	Config  model.Config
	Weights *model.Weights // host weights
	State   ResumeState
	// LoRA holds the adapters (MiniMind names) when the run trained
	// adapters; LoRARank and LoRAAlpha their settings.
	LoRA       map[string][]float32
	LoRAShapes map[string][]int
	LoRARank   int
	LoRAAlpha  float64
	m, v       map[string][]float32
}

// LoadResume reads a resume checkpoint written by SaveResume.
func LoadResume(path string) (*Resume, error) {
	f, err := safetensors.Open(path)
	if err != nil {
		return nil, fmt.Errorf("native: resume: %w", err)
	}
	defer f.Close()
	md := f.Metadata()
	r := &Resume{m: map[string][]float32{}, v: map[string][]float32{}}
	if err := json.Unmarshal([]byte(md[resumeStateKey]), &r.State); err != nil {
		return nil, fmt.Errorf("native: resume %s: state: %w", path, err)
	}
	if r.State.Version != resumeVersion {
		return nil, fmt.Errorf("native: resume %s: version %d, this build reads %d", path, r.State.Version, resumeVersion)
	}
	if r.Config, err = model.ParseConfig([]byte(md[resumeConfigKey])); err != nil {
		return nil, fmt.Errorf("native: resume %s: %w", path, err)
	}
	r.Weights = &model.Weights{}
	for _, p := range r.Config.Params(r.Weights) {
		d, err := f.Float32(p.Name)
		if err != nil {
			return nil, fmt.Errorf("native: resume %s: tensor %s: %w", path, p.Name, err)
		}
		if len(d) != p.Size() {
			return nil, fmt.Errorf("native: resume %s: tensor %s has %d values, want %d", path, p.Name, len(d), p.Size())
		}
		*p.Ptr = &model.Host{Data: d}
	}
	if lj, ok := md[resumeLoRAKey]; ok {
		var lm loraMeta
		if err := json.Unmarshal([]byte(lj), &lm); err != nil {
			return nil, fmt.Errorf("native: resume %s: LoRA settings: %w", path, err)
		}
		r.LoRARank, r.LoRAAlpha = lm.Rank, lm.Alpha
		r.LoRA, r.LoRAShapes = map[string][]float32{}, map[string][]int{}
	}
	for _, ti := range f.Tensors() {
		var dst map[string][]float32
		name := ti.Name
		switch {
		case strings.HasPrefix(name, expAvgPrefix):
			dst, name = r.m, strings.TrimPrefix(name, expAvgPrefix)
		case strings.HasPrefix(name, expAvgSqPrefix):
			dst, name = r.v, strings.TrimPrefix(name, expAvgSqPrefix)
		case r.LoRA != nil && strings.Contains(name, ".lora."):
			dst = r.LoRA
			r.LoRAShapes[name] = ti.Shape
		default:
			continue
		}
		d, err := f.Float32(ti.Name)
		if err != nil {
			return nil, fmt.Errorf("native: resume %s: tensor %s: %w", path, ti.Name, err)
		}
		dst[name] = d
	}
	return r, nil
}

// Restore loads r's AdamW moments and step count into the trainer, whose
// model must have been built from r.Config and r.Weights.
func (t *Trainer) Restore(r *Resume) error {
	for i, name := range t.names {
		m, ok1 := r.m[name]
		v, ok2 := r.v[name]
		if !ok1 || !ok2 || len(m) != t.sizes[i] || len(v) != t.sizes[i] {
			return fmt.Errorf("native: resume: optimizer state of %s is missing or mis-sized", name)
		}
		t.eng.Free(t.m[i])
		t.eng.Free(t.v[i])
		t.m[i], t.v[i] = t.eng.Upload(m), t.eng.Upload(v)
	}
	t.steps = r.State.OptSteps
	t.ZeroGrads()
	return nil
}
