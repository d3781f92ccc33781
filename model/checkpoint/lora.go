package checkpoint

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/minimind-go/minimind/model/pth"
	"github.com/minimind-go/minimind/model/safetensors"
)

// Files of a PEFT adapter folder.
const (
	PEFTConfigFile  = "adapter_config.json"
	PEFTWeightsFile = "adapter_model.safetensors"
)

// Adapters are LoRA adapters under MiniMind's key names:
// "<module>.lora.A.weight" [r, in] and "<module>.lora.B.weight" [out, r].
type Adapters struct {
	Rank int
	// Alpha scales the adapters by Alpha/Rank; 0 is MiniMind's unscaled
	// y = W·x + B·A·x.
	Alpha   float64
	Tensors map[string][]float32
	Shapes  map[string][]int
}

// names returns the tensor names in sorted order.
func (a *Adapters) names() []string {
	var ns []string
	for n := range a.Tensors {
		ns = append(ns, n)
	}
	sort.Strings(ns)
	return ns
}

func (a *Adapters) list(dt safetensors.DType, rename func(string) string) []safetensors.Tensor {
	var ts []safetensors.Tensor
	for _, n := range a.names() {
		ts = append(ts, safetensors.Tensor{Name: rename(n), DType: dt, Shape: a.Shapes[n], Data: a.Tensors[n]})
	}
	return ts
}

// modules lists the adapted module paths and their projection kinds.
func (a *Adapters) modules() (mods, kinds []string) {
	seen := map[string]bool{}
	for _, n := range a.names() {
		if m, ok := strings.CutSuffix(n, ".lora.A.weight"); ok {
			mods = append(mods, m)
			k := m[strings.LastIndex(m, ".")+1:]
			if !seen[k] {
				seen[k] = true
				kinds = append(kinds, k)
			}
		}
	}
	return mods, kinds
}

// SaveAdapters writes the adapters three ways, each file atomically:
// base+".safetensors" (F32, MiniMind names), base+".pth" (F16 state dict,
// MiniMind's own format) and the PEFT folder base+"_peft"
// (adapter_config.json and adapter_model.safetensors with
// "base_model.model.<module>.lora_A.weight" names) that transformers, PEFT
// and vLLM load onto the converted base model.
func SaveAdapters(base string, a *Adapters) error {
	meta := map[string]string{"format": "pt", "lora_rank": fmt.Sprint(a.Rank), "lora_alpha": fmt.Sprint(a.Alpha)}
	var buf bytes.Buffer
	if err := safetensors.Write(&buf, a.list(safetensors.F32, func(s string) string { return s }), meta); err != nil {
		return fmt.Errorf("checkpoint: adapters: %w", err)
	}
	if err := WriteFileAtomic(base+".safetensors", buf.Bytes()); err != nil {
		return err
	}
	buf.Reset()
	var pts []pth.WriteTensor
	for _, t := range a.list(safetensors.F16, func(s string) string { return s }) {
		pts = append(pts, pth.WriteTensor{Name: t.Name, Shape: t.Shape, Data: t.Data})
	}
	if err := pth.Write(&buf, pts, safetensors.F16); err != nil {
		return fmt.Errorf("checkpoint: adapters: %w", err)
	}
	if err := WriteFileAtomic(base+".pth", buf.Bytes()); err != nil {
		return err
	}
	dir := base + "_peft"
	buf.Reset()
	peftName := func(s string) string {
		s = strings.Replace(s, ".lora.A.weight", ".lora_A.weight", 1)
		s = strings.Replace(s, ".lora.B.weight", ".lora_B.weight", 1)
		return "base_model.model." + s
	}
	if err := safetensors.Write(&buf, a.list(safetensors.F32, peftName), map[string]string{"format": "pt"}); err != nil {
		return fmt.Errorf("checkpoint: adapters: %w", err)
	}
	if err := WriteFileAtomic(filepath.Join(dir, PEFTWeightsFile), buf.Bytes()); err != nil {
		return err
	}
	alpha := a.Alpha
	if alpha == 0 {
		alpha = float64(a.Rank) // scaling alpha/r = 1: MiniMind's unscaled adapters
	}
	_, kinds := a.modules()
	cfg := map[string]any{
		"peft_type": "LORA", "task_type": "CAUSAL_LM", "r": a.Rank, "lora_alpha": alpha,
		"lora_dropout": 0.0, "bias": "none", "fan_in_fan_out": false, "inference_mode": true,
		"target_modules": kinds, "init_lora_weights": true, "use_rslora": false, "use_dora": false,
		"base_model_name_or_path": nil, "modules_to_save": nil, "revision": nil,
	}
	cj, err := json.MarshalIndent(cfg, "", "  ")
	if err != nil {
		return fmt.Errorf("checkpoint: %w", err)
	}
	return WriteFileAtomic(filepath.Join(dir, PEFTConfigFile), append(cj, '\n'))
}

// LoadAdapters reads adapters from a .safetensors or .pth file with
// MiniMind's key names (a leading "module." is stripped), a PEFT folder, or
// the output folder of a LoRA run (<dir>/<name of dir>.safetensors). The rank comes from the tensors; Alpha from the safetensors
// metadata or adapter_config.json (0 when absent: unscaled).
func LoadAdapters(path string) (*Adapters, error) {
	a := &Adapters{Tensors: map[string][]float32{}, Shapes: map[string][]int{}}
	add := func(name string, shape []int, data []float32) {
		name = strings.TrimPrefix(name, "module.")
		a.Tensors[name], a.Shapes[name] = data, shape
	}
	st, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: adapters: %w", err)
	}
	if st.IsDir() {
		if _, err := os.Stat(filepath.Join(path, PEFTConfigFile)); err != nil {
			// A LoRA run's output folder: <dir>/<name of dir>.safetensors.
			if f := filepath.Join(path, filepath.Base(path)+".safetensors"); fileExists(f) {
				return LoadAdapters(f)
			}
		}
	}
	switch {
	case st.IsDir():
		var pc struct {
			R         int     `json:"r"`
			LoRAAlpha float64 `json:"lora_alpha"`
			PEFTType  string  `json:"peft_type"`
		}
		data, err := os.ReadFile(filepath.Join(path, PEFTConfigFile))
		if err != nil {
			return nil, fmt.Errorf("checkpoint: adapters: %w", err)
		}
		if err := json.Unmarshal(data, &pc); err != nil {
			return nil, fmt.Errorf("checkpoint: %s: %w", filepath.Join(path, PEFTConfigFile), err)
		}
		if pc.PEFTType != "" && pc.PEFTType != "LORA" {
			return nil, fmt.Errorf("checkpoint: %s: peft_type %q is not LORA", path, pc.PEFTType)
		}
		ts, _, err := safetensors.ReadFile(filepath.Join(path, PEFTWeightsFile))
		if err != nil {
			return nil, fmt.Errorf("checkpoint: adapters: %w", err)
		}
		for _, t := range ts {
			n := strings.TrimPrefix(t.Name, "base_model.model.")
			n = strings.Replace(n, ".lora_A.weight", ".lora.A.weight", 1)
			n = strings.Replace(n, ".lora_B.weight", ".lora.B.weight", 1)
			n = strings.Replace(n, ".lora_A.default.weight", ".lora.A.weight", 1)
			n = strings.Replace(n, ".lora_B.default.weight", ".lora.B.weight", 1)
			add(n, t.Shape, t.Data)
		}
		if pc.R > 0 && pc.LoRAAlpha != float64(pc.R) {
			a.Alpha = pc.LoRAAlpha
		}
	case strings.HasSuffix(path, ".pth"):
		ts, err := pth.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("checkpoint: adapters: %w", err)
		}
		for _, t := range ts {
			add(t.Name, t.Shape, t.Data)
		}
	default:
		ts, meta, err := safetensors.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("checkpoint: adapters: %w", err)
		}
		for _, t := range ts {
			add(t.Name, t.Shape, t.Data)
		}
		if v, ok := meta["lora_alpha"]; ok {
			fmt.Sscan(v, &a.Alpha)
		}
	}
	for n, s := range a.Shapes {
		if !strings.Contains(n, ".lora.") {
			return nil, fmt.Errorf("checkpoint: %s: tensor %s is not a LoRA adapter (<module>.lora.A.weight)", path, n)
		}
		if len(s) != 2 {
			return nil, fmt.Errorf("checkpoint: %s: tensor %s has shape %v, want 2 dimensions", path, n, s)
		}
		if strings.HasSuffix(n, ".lora.A.weight") {
			a.Rank = s[0]
		}
	}
	if len(a.Tensors) == 0 || a.Rank == 0 {
		return nil, fmt.Errorf("checkpoint: %s: %w", path, errors.New("no LoRA adapter tensors"))
	}
	return a, nil
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
