package cpu

import (
	"fmt"
	"strings"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/gemm"
	"github.com/minimind-go/minimind/model/gguf"
)

// InferenceGCPercent is the garbage-collection target (debug.SetGCPercent)
// that mmchat sets for generation. The model's weights are nearly all of the
// live heap, so Go's default of 100 would let the garbage of a prompt (a
// decoding step leaves none) grow the process to twice the weights before a
// collection; 5 keeps it within a twentieth of them. Collections stay cheap
// because weights hold no pointers: a few per long prompt.
const InferenceGCPercent = 5

// DType names a weight storage of the CPU engine: "f32" (the default of
// model.New) or a quantized one, "f16", "q8_0" or "q4_0".
type DType string

// ParseDType reads a --dtype value.
func ParseDType(s string) (DType, error) {
	switch d := DType(strings.ToLower(s)); d {
	case "f32", "f16", "q8_0", "q4_0":
		return d, nil
	}
	return "", fmt.Errorf("cpu: unknown weight type %q (f32, f16, q8_0 or q4_0)", s)
}

func (d DType) qtype() (gemm.QType, gguf.TensorType) {
	switch d {
	case "f16":
		return gemm.QF16, gguf.F16
	case "q8_0":
		return gemm.QQ8_0, gguf.Q8_0
	case "q4_0":
		return gemm.QQ4_0, gguf.Q4_0
	}
	return 0, gguf.F32
}

// QuantizeWeights converts the matrices of a model on this engine — the
// embedding (also the tied output head), attention and feed-forward weights
// — to dtype, in place: MatMul then reads them in that form (f16 converted
// in registers; for one token, q8_0 / q4_0 blocks multiplied in integers
// with the activations rounded to int8 blocks, as llama.cpp does; for a batch,
// tiles dequantized for the float GEMM), and decoding reads about 2× (f16), 3.8× (q8_0) or 7.1× (q4_0)
// fewer bytes per token for the quantized matrices. Norm weights, MoE routers and matrices whose rows do not
// fit the type's blocks stay float32; the embedding / output head is kept
// more precise, f16 under q8_0 and q8_0 under q4_0. "f32" leaves the model
// unchanged.
// Training needs float32 weights: quantize only models used for inference.
func QuantizeWeights(m *model.Model, dtype DType) error {
	qt, gt := dtype.qtype()
	if qt == 0 {
		return nil
	}
	if _, ok := m.Engine.(*Engine); !ok {
		return fmt.Errorf("cpu: QuantizeWeights needs a model on the CPU engine, not %s", m.Engine.Name())
	}
	for _, p := range m.Config.Params(m.W) {
		if len(p.Shape) != 2 || strings.HasSuffix(p.Name, "mlp.gate.weight") {
			continue
		}
		rows, cols := p.Shape[0], p.Shape[1]
		if qt.RowBytes(cols) == 0 {
			continue
		}
		hst, ok := (*p.Ptr).(*model.Host)
		if !ok {
			continue // already converted (a tied weight seen twice)
		}
		pqt, pgt := qt, gt
		if head := p.Name == "model.embed_tokens.weight" || p.Name == "lm_head.weight"; head {
			// The output head sets the logits directly: keep it more
			// precise than the rest, as llama.cpp's quantizer does: f16 under
			// q8_0, q8_0 under q4_0.
			switch qt {
			case gemm.QQ8_0:
				pqt, pgt = gemm.QF16, gguf.F16
			case gemm.QQ4_0:
				pqt, pgt = gemm.QQ8_0, gguf.Q8_0
			}
		}
		data := make([]byte, rows*pqt.RowBytes(cols))
		if err := gguf.Encode(data, hst.Data, pgt); err != nil {
			return fmt.Errorf("cpu: %s: %w", p.Name, err)
		}
		q, err := gemm.NewQMatrix(pqt, rows, cols, data)
		if err != nil {
			return fmt.Errorf("cpu: %s: %w", p.Name, err)
		}
		*p.Ptr = q
	}
	return nil
}
