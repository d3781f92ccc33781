package model

import (
	"fmt"
	"math"
	"math/rand/v2"
)

// Host is a tensor in host memory: a flat row-major float32 buffer. The CPU
// engine uses it as its tensor type; checkpoints load into it.
type Host struct {
	Data []float32
}

// Len implements Tensor.
func (h *Host) Len() int { return len(h.Data) }

// FFNWeights is one SwiGLU block: down(silu(gate·x) ⊙ up·x).
type FFNWeights struct {
	Gate Tensor // [F, D]
	Up   Tensor // [F, D]
	Down Tensor // [D, F]
}

// LayerWeights holds one transformer block.
type LayerWeights struct {
	InputNorm Tensor // [D]
	Q         Tensor // [H·hd, D]
	K         Tensor // [KVH·hd, D]
	V         Tensor // [KVH·hd, D]
	O         Tensor // [D, H·hd]
	QNorm     Tensor // [hd] (MiniMind3 only)
	KNorm     Tensor // [hd] (MiniMind3 only)
	PostNorm  Tensor // [D]

	FFN     FFNWeights   // dense layers
	Router  Tensor       // [E, D] (MoE only)
	Experts []FFNWeights // [E] (MoE only)
	Shared  []FFNWeights // shared experts (MiniMind2 MoE only)
}

// Weights holds every parameter of a model, as tensors of one engine (or as
// *Host tensors on the host).
type Weights struct {
	Embed  Tensor // [V, D] model.embed_tokens.weight
	Layers []LayerWeights
	Norm   Tensor // [D] model.norm.weight
	LMHead Tensor // [V, D] lm_head.weight; nil when tied to Embed
}

// Param names one parameter slot of a Weights value.
type Param struct {
	Name  string // Hugging Face tensor name
	Shape []int
	Ptr   *Tensor // the slot in the Weights struct
}

// Size is the number of elements of the parameter.
func (p Param) Size() int {
	n := 1
	for _, d := range p.Shape {
		n *= d
	}
	return n
}

// Params lists the parameters of w for config c in canonical order, with
// their Hugging Face names and shapes. It sizes w.Layers (and experts) when
// they are empty, so it can be used to fill a new Weights. A tied lm_head is
// not listed.
func (c Config) Params(w *Weights) []Param {
	d, f := c.Hidden, c.FFN
	qd, kvd := c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	if len(w.Layers) != c.Layers {
		w.Layers = make([]LayerWeights, c.Layers)
	}
	ps := []Param{{"model.embed_tokens.weight", []int{c.Vocab, d}, &w.Embed}}
	ffn := func(prefix string, fw *FFNWeights) {
		ps = append(ps,
			Param{prefix + ".gate_proj.weight", []int{f, d}, &fw.Gate},
			Param{prefix + ".up_proj.weight", []int{f, d}, &fw.Up},
			Param{prefix + ".down_proj.weight", []int{d, f}, &fw.Down})
	}
	for i := range w.Layers {
		l := &w.Layers[i]
		p := fmt.Sprintf("model.layers.%d.", i)
		ps = append(ps,
			Param{p + "input_layernorm.weight", []int{d}, &l.InputNorm},
			Param{p + "self_attn.q_proj.weight", []int{qd, d}, &l.Q},
			Param{p + "self_attn.k_proj.weight", []int{kvd, d}, &l.K},
			Param{p + "self_attn.v_proj.weight", []int{kvd, d}, &l.V},
			Param{p + "self_attn.o_proj.weight", []int{d, qd}, &l.O})
		if c.QKNorm() {
			ps = append(ps,
				Param{p + "self_attn.q_norm.weight", []int{c.HeadDim}, &l.QNorm},
				Param{p + "self_attn.k_norm.weight", []int{c.HeadDim}, &l.KNorm})
		}
		ps = append(ps, Param{p + "post_attention_layernorm.weight", []int{d}, &l.PostNorm})
		if !c.UseMoE {
			ffn(p+"mlp", &l.FFN)
			continue
		}
		if len(l.Experts) != c.Experts {
			l.Experts = make([]FFNWeights, c.Experts)
		}
		if len(l.Shared) != c.Shared {
			l.Shared = make([]FFNWeights, c.Shared)
		}
		ps = append(ps, Param{p + "mlp.gate.weight", []int{c.Experts, d}, &l.Router})
		for e := range l.Experts {
			ffn(fmt.Sprintf("%smlp.experts.%d", p, e), &l.Experts[e])
		}
		for j := range l.Shared {
			ffn(fmt.Sprintf("%smlp.shared_experts.%d", p, j), &l.Shared[j])
		}
	}
	ps = append(ps, Param{"model.norm.weight", []int{d}, &w.Norm})
	if !c.TieEmbedding {
		ps = append(ps, Param{"lm_head.weight", []int{c.Vocab, d}, &w.LMHead})
	}
	return ps
}

// Head returns the output projection: LMHead, or Embed when tied.
func (w *Weights) Head() Tensor {
	if w.LMHead != nil {
		return w.LMHead
	}
	return w.Embed
}

// InitWeights returns freshly initialised host weights for c, GPT-style:
// linear and embedding weights drawn from N(0, 0.02²), norm weights 1. The
// same seed gives the same weights.
func InitWeights(c Config, seed uint64) *Weights {
	w := &Weights{}
	rng := rand.New(rand.NewPCG(seed, 0x6d696e696d696e64))
	for _, p := range c.Params(w) {
		data := make([]float32, p.Size())
		if len(p.Shape) == 1 {
			for i := range data {
				data[i] = 1
			}
		} else {
			for i := range data {
				data[i] = float32(rng.NormFloat64() * 0.02)
			}
		}
		*p.Ptr = &Host{Data: data}
	}
	return w
}

// Upload copies host weights to engine e.
func (c Config) Upload(e Engine, host *Weights) (*Weights, error) {
	dev := &Weights{}
	dst := c.Params(dev)
	src := c.Params(host)
	for i, p := range src {
		h, ok := (*p.Ptr).(*Host)
		if !ok || h == nil {
			return nil, fmt.Errorf("model: tensor %s is missing or not on the host", p.Name)
		}
		if len(h.Data) != p.Size() {
			return nil, fmt.Errorf("model: tensor %s has %d elements, want %d (shape %v)", p.Name, len(h.Data), p.Size(), p.Shape)
		}
		*dst[i].Ptr = e.Upload(h.Data)
	}
	return dev, nil
}

// CheckFinite returns an error naming the first host tensor holding NaN or Inf.
func (c Config) CheckFinite(w *Weights) error {
	for _, p := range c.Params(w) {
		h, ok := (*p.Ptr).(*Host)
		if !ok {
			continue
		}
		for i, v := range h.Data {
			if math.IsNaN(float64(v)) || math.IsInf(float64(v), 0) {
				return fmt.Errorf("model: tensor %s has a non-finite value %v at index %d", p.Name, v, i)
			}
		}
	}
	return nil
}
