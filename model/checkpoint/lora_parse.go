package checkpoint

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/minimind-go/minimind/model/safetensors"
)

// ParseAdapters reads adapters held in memory: weights is a safetensors
// file with MiniMind's key names ("<module>.lora.A.weight") or PEFT's
// ("base_model.model.<module>.lora_A.weight"), and config is PEFT's
// adapter_config.json (nil when absent). name names the file in errors.
// Alpha comes from config, else the safetensors metadata (0: unscaled).
func ParseAdapters(name string, weights, config []byte) (*Adapters, error) {
	a := &Adapters{Tensors: map[string][]float32{}, Shapes: map[string][]int{}}
	ts, meta, err := safetensors.Read(bytes.NewReader(weights), int64(len(weights)), name)
	if err != nil {
		return nil, fmt.Errorf("checkpoint: adapters: %w", err)
	}
	for _, t := range ts {
		n := strings.TrimPrefix(strings.TrimPrefix(t.Name, "module."), "base_model.model.")
		for _, r := range [][2]string{
			{".lora_A.default.weight", ".lora.A.weight"}, {".lora_B.default.weight", ".lora.B.weight"},
			{".lora_A.weight", ".lora.A.weight"}, {".lora_B.weight", ".lora.B.weight"},
		} {
			n = strings.Replace(n, r[0], r[1], 1)
		}
		if !strings.Contains(n, ".lora.") {
			return nil, fmt.Errorf("checkpoint: %s: tensor %s is not a LoRA adapter (<module>.lora.A.weight)", name, t.Name)
		}
		if len(t.Shape) != 2 {
			return nil, fmt.Errorf("checkpoint: %s: tensor %s has shape %v, want 2 dimensions", name, t.Name, t.Shape)
		}
		if strings.HasSuffix(n, ".lora.A.weight") {
			a.Rank = t.Shape[0]
		}
		a.Tensors[n], a.Shapes[n] = t.Data, t.Shape
	}
	if len(a.Tensors) == 0 || a.Rank == 0 {
		return nil, fmt.Errorf("checkpoint: %s: no LoRA adapter tensors", name)
	}
	if config != nil {
		var pc struct {
			R         int     `json:"r"`
			LoRAAlpha float64 `json:"lora_alpha"`
			PEFTType  string  `json:"peft_type"`
		}
		if err := json.Unmarshal(config, &pc); err != nil {
			return nil, fmt.Errorf("checkpoint: %s: %w", PEFTConfigFile, err)
		}
		if pc.PEFTType != "" && pc.PEFTType != "LORA" {
			return nil, fmt.Errorf("checkpoint: %s: peft_type %q is not LORA", PEFTConfigFile, pc.PEFTType)
		}
		if pc.R > 0 && pc.LoRAAlpha != float64(pc.R) {
			a.Alpha = pc.LoRAAlpha
		}
	} else if v, ok := meta["lora_alpha"]; ok {
		fmt.Sscan(v, &a.Alpha)
	}
	return a, nil
}
