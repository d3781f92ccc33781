package convert

import (
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/checkpoint"
	"github.com/minimind-go/minimind/model/cpu"
)

// torchScript loads a .pth (torch.load + load_state_dict(strict=True), as
// MiniMind's scripts do) or a transformers folder's config.json and
// model.safetensors into the project's independent PyTorch reference and
// prints the logits of ids 1..8 as JSON.
const torchScript = `
import json, os, sys
sys.path.insert(0, sys.argv[1])
import torch, minimind_ref, safetensors_io
cfg = minimind_ref.Config.from_dict(json.load(open(sys.argv[2])))
m = minimind_ref.MiniMindForCausalLM(cfg)
w = sys.argv[3]
sd = torch.load(w, map_location="cpu") if w.endswith(".pth") else safetensors_io.load(w)
sd = {k: v.float() for k, v in sd.items()}
if w.endswith(".pth") and cfg.tie_word_embeddings:
    m.lm_head = torch.nn.Linear(cfg.hidden_size, cfg.vocab_size, bias=False)
    m.lm_head.weight = m.model.embed_tokens.weight
    m.load_state_dict(sd, strict=True)
    m.lm_head = None
else:
    m.load_weights(sd)
logits, _ = m(torch.arange(1, 9).unsqueeze(0))
print(json.dumps(logits[0].tolist()))
`

// TestTorchLoadsConversions checks with PyTorch (Debian's python3-torch and
// tools/torchref) that the .pth loads strictly into a MiniMind model — with
// its lm_head, as MiniMind's own scripts require — and that a transformers
// folder's config.json and weights describe the same model: both give this
// project's logits (≤ 1e-4 relative).
func TestTorchLoadsConversions(t *testing.T) {
	py := "/usr/bin/python3"
	if err := exec.Command(py, "-c", "import torch").Run(); err != nil {
		if os.Getenv("MINIMIND_REQUIRE_TORCH") != "" {
			t.Fatalf("python3-torch is required: %v", err)
		}
		t.Skip("python3-torch not installed")
	}
	ref, _ := filepath.Abs("../tools/torchref")
	for _, tc := range []struct{ preset, tok, kind string }{
		{"tiny", "minimind2", "pth"}, {"tiny3", "minimind3", "pth"},
		{"tiny", "minimind2", "hf"}, {"tiny3", "minimind3", "hf"}, {"tiny3-moe", "minimind3", "hf"},
	} {
		t.Run(tc.preset+"-"+tc.kind, func(t *testing.T) {
			src, err := Load(saveFolder(t, tc.preset, tc.tok))
			require.NoError(t, err)
			dir := t.TempDir()
			var cfgPath, weights string
			if tc.kind == "pth" {
				weights = filepath.Join(dir, "m.pth")
				require.NoError(t, WritePTH(src, weights))
				cj, err := json.Marshal(src.Config)
				require.NoError(t, err)
				cfgPath = filepath.Join(dir, "config.json") // MiniMind's, read by both loaders
				require.NoError(t, os.WriteFile(cfgPath, cj, 0o644))
			} else {
				require.NoError(t, WriteHF(src, dir, HFOptions{}))
				cfgPath, weights = filepath.Join(dir, "config.json"), filepath.Join(dir, "model.safetensors")
			}
			out, err := exec.Command(py, "-c", torchScript, ref, cfgPath, weights).CombinedOutput()
			require.NoError(t, err, "%s", out)
			var want [][]float64
			require.NoError(t, json.Unmarshal(out, &want))

			// Ours, on the fp16 weights the file holds.
			c, w, err := checkpoint.Load(weights)
			require.NoError(t, err)
			require.Equal(t, src.Config, c)
			m, err := model.New(c, cpu.New(1), w)
			require.NoError(t, err)
			ids := []int32{1, 2, 3, 4, 5, 6, 7, 8}
			lg, err := m.Forward(ids, 1, model.ForwardOptions{})
			require.NoError(t, err)
			got := m.Engine.Read(lg)
			var worst, scale float64
			for i, row := range want {
				for j, v := range row {
					worst = math.Max(worst, math.Abs(v-float64(got[i*c.Vocab+j])))
					scale = math.Max(scale, math.Abs(v))
				}
			}
			require.LessOrEqual(t, worst, 1e-4*scale, "max |Δ| %g (max |logit| %g)", worst, scale)
		})
	}
}
