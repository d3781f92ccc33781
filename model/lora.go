package model

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"sort"
	"strings"
)

// LoRATargets are the projection names --lora_targets accepts.
var LoRATargets = []string{"q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"}

// LoRAOptions selects and initialises low-rank adapters.
type LoRAOptions struct {
	// Rank is r (MiniMind: 16).
	Rank int
	// Alpha scales the adapter output by Alpha/Rank; 0 means no scaling
	// (MiniMind's y = W·x + B·A·x).
	Alpha float64
	// Targets names the projections to adapt (LoRATargets); empty selects
	// MiniMind's rule: every linear layer whose input and output widths
	// are equal.
	Targets []string
	// Seed seeds A ~ N(0, 0.02); B starts at zero.
	Seed uint64
}

// Adapter is one low-rank adapter on a linear layer with weight W [Out, In]:
// y = W·x + s·B·(A·x).
type Adapter struct {
	Name    string // module path, e.g. "model.layers.0.self_attn.q_proj"
	In, Out int
	A       Tensor // [r, In]  lora.A.weight
	B       Tensor // [Out, r] lora.B.weight
	GA, GB  Tensor // gradients of A and B (nil until LoRA.EnableGrads)

	z  Tensor // [n, r] s·A·x of the last forward pass (kept for backward)
	zn int
}

// LoRA is a set of adapters attached to a model (Model.LoRA).
type LoRA struct {
	Rank  int
	Scale float32 // s: Alpha/Rank, or 1
	Alpha float64 // 0: no scaling
	// Adapters in the model's parameter order.
	Adapters []*Adapter
	byWeight map[Tensor]*Adapter
	folded   bool // B holds s·B (inference-only engines); Scale is not applied again
}

// loraSite is a linear layer an adapter can attach to.
type loraSite struct {
	name    string // module path
	kind    string // q_proj, ..., gate_proj
	in, out int
	w       Tensor
}

// loraSites lists the linear layers of m (router and lm_head excluded), in
// parameter order.
func loraSites(c Config, w *Weights) []loraSite {
	var s []loraSite
	for _, p := range c.Params(w) {
		if len(p.Shape) != 2 || !strings.HasSuffix(p.Name, "_proj.weight") {
			continue
		}
		mod := strings.TrimSuffix(p.Name, ".weight")
		kind := mod[strings.LastIndex(mod, ".")+1:]
		s = append(s, loraSite{name: mod, kind: kind, in: p.Shape[1], out: p.Shape[0], w: *p.Ptr})
	}
	return s
}

// LoRAModules lists the module paths the options select on config c.
func LoRAModules(c Config, targets []string) ([]string, error) {
	sites, err := selectSites(c, &Weights{}, targets)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, s := range sites {
		names = append(names, s.name)
	}
	return names, nil
}

func selectSites(c Config, w *Weights, targets []string) ([]loraSite, error) {
	for _, t := range targets {
		if !slices.Contains(LoRATargets, t) {
			return nil, fmt.Errorf("model: unknown LoRA target %q (have %s)", t, strings.Join(LoRATargets, ","))
		}
	}
	var out []loraSite
	for _, s := range loraSites(c, w) {
		if (len(targets) == 0 && s.in == s.out) || slices.Contains(targets, s.kind) {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("model: no linear layer matches the LoRA targets %v", targets)
	}
	return out, nil
}

// AttachLoRA adds freshly initialised adapters (A ~ N(0, 0.02), B = 0) to
// m and returns them.
func AttachLoRA(m *Model, o LoRAOptions) (*LoRA, error) {
	if o.Rank <= 0 {
		return nil, fmt.Errorf("model: LoRA rank must be > 0, got %d", o.Rank)
	}
	sites, err := selectSites(m.Config, m.W, o.Targets)
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(o.Seed, 0x10a4))
	host := map[string][]float32{}
	for _, s := range sites {
		a := make([]float32, o.Rank*s.in) // [r, In]
		for i := range a {
			a[i] = float32(rng.NormFloat64() * 0.02)
		}
		host[s.name+".lora.A.weight"] = a
		host[s.name+".lora.B.weight"] = make([]float32, s.out*o.Rank) // [Out, r]
	}
	return attach(m, sites, o, host)
}

// LoadLoRA attaches adapters with the given weights (MiniMind key names
// "<module>.lora.A.weight" [r, In] and "<module>.lora.B.weight" [Out, r],
// an optional leading "module." stripped). The modules present select the
// sites; the rank comes from the tensors; o.Alpha sets the scale.
func LoadLoRA(m *Model, tensors map[string][]float32, shapes map[string][]int, o LoRAOptions) (*LoRA, error) {
	clean := map[string][]float32{}
	cshape := map[string][]int{}
	for k, v := range tensors {
		n := strings.TrimPrefix(k, "module.")
		clean[n], cshape[n] = v, shapes[k]
	}
	var sites []loraSite
	rank := 0
	for _, s := range loraSites(m.Config, m.W) {
		ka, kb := s.name+".lora.A.weight", s.name+".lora.B.weight"
		a, okA := clean[ka]
		b, okB := clean[kb]
		if !okA && !okB {
			continue
		}
		if !okA || !okB {
			return nil, fmt.Errorf("model: LoRA %s: needs both %s and %s", s.name, ka, kb)
		}
		sa, sb := cshape[ka], cshape[kb]
		if len(sa) != 2 || len(sb) != 2 || sa[1] != s.in || sb[0] != s.out || sa[0] != sb[1] || len(a) != sa[0]*sa[1] || len(b) != sb[0]*sb[1] {
			return nil, fmt.Errorf("model: LoRA %s: A %v and B %v do not fit a [%d, %d] layer", s.name, sa, sb, s.out, s.in)
		}
		if rank != 0 && sa[0] != rank {
			return nil, fmt.Errorf("model: LoRA %s: rank %d, other adapters have %d", s.name, sa[0], rank)
		}
		rank = sa[0]
		sites = append(sites, s)
		delete(clean, ka)
		delete(clean, kb)
	}
	for k := range clean {
		if strings.Contains(k, ".lora.") {
			return nil, fmt.Errorf("model: LoRA tensor %s matches no linear layer of this model", k)
		}
	}
	if len(sites) == 0 {
		return nil, fmt.Errorf("model: no LoRA tensors (<module>.lora.A.weight) in the adapter file")
	}
	o.Rank = rank
	return attach(m, sites, o, clean2(tensors))
}

// clean2 strips a leading "module." from every key.
func clean2(t map[string][]float32) map[string][]float32 {
	out := make(map[string][]float32, len(t))
	for k, v := range t {
		out[strings.TrimPrefix(k, "module.")] = v
	}
	return out
}

func attach(m *Model, sites []loraSite, o LoRAOptions, host map[string][]float32) (*LoRA, error) {
	if m.LoRA != nil {
		return nil, fmt.Errorf("model: the model already has LoRA adapters")
	}
	l := &LoRA{Rank: o.Rank, Scale: 1, Alpha: o.Alpha, byWeight: map[Tensor]*Adapter{}}
	if o.Alpha != 0 {
		l.Scale = float32(o.Alpha / float64(o.Rank))
	}
	for _, s := range sites {
		ad := &Adapter{Name: s.name, In: s.in, Out: s.out,
			A: m.Engine.Upload(host[s.name+".lora.A.weight"]),
			B: m.Engine.Upload(host[s.name+".lora.B.weight"])}
		l.Adapters = append(l.Adapters, ad)
		l.byWeight[s.w] = ad
	}
	// An engine without Scale (inference only) gets B pre-multiplied by s.
	if _, ok := m.Engine.(TrainEngine); !ok && l.Scale != 1 {
		for _, a := range l.Adapters {
			b := m.Engine.Read(a.B)
			for i := range b {
				b[i] *= l.Scale
			}
			m.Engine.Free(a.B)
			a.B = m.Engine.Upload(b)
		}
		l.folded = true
	}
	m.LoRA = l
	return l, nil
}

// ParamCount is the number of adapter parameters.
func (l *LoRA) ParamCount() int {
	n := 0
	for _, a := range l.Adapters {
		n += l.Rank * (a.In + a.Out)
	}
	return n
}

// Targets lists the projection kinds that carry adapters (sorted).
func (l *LoRA) Targets() []string {
	set := map[string]bool{}
	for _, a := range l.Adapters {
		set[a.Name[strings.LastIndex(a.Name, ".")+1:]] = true
	}
	var out []string
	for k := range set {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// EnableGrads allocates zeroed gradients for every adapter on engine e.
func (l *LoRA) EnableGrads(e Engine) {
	for _, a := range l.Adapters {
		if a.GA == nil {
			a.GA, a.GB = e.Alloc(l.Rank*a.In), e.Alloc(a.Out*l.Rank) // [r, In], [Out, r]
		}
	}
}

// LoRAParam is one adapter tensor with its MiniMind name.
type LoRAParam struct {
	Name  string // "<module>.lora.A.weight" or ".lora.B.weight"
	Shape []int
	W, G  Tensor // weight and gradient (G nil before EnableGrads)
}

// Params lists the adapter tensors: A then B of each adapter, in order.
func (l *LoRA) Params() []LoRAParam {
	var ps []LoRAParam
	for _, a := range l.Adapters {
		ps = append(ps,
			LoRAParam{a.Name + ".lora.A.weight", []int{l.Rank, a.In}, a.A, a.GA},
			LoRAParam{a.Name + ".lora.B.weight", []int{a.Out, l.Rank}, a.B, a.GB})
	}
	return ps
}

// HostTensors reads the adapter weights back: name → values.
func (l *LoRA) HostTensors(e Engine) map[string][]float32 {
	out := map[string][]float32{}
	for _, p := range l.Params() {
		v := e.Read(p.W)
		if l.folded && strings.HasSuffix(p.Name, ".lora.B.weight") {
			for i := range v {
				v[i] /= l.Scale
			}
		}
		out[p.Name] = v
	}
	return out
}

// adapt adds the adapter of weight w, if any, to out [n, mOut] = x [n, k]·wᵀ.
// It does nothing when the model has no adapters.
func (m *Model) adapt(out, x, w Tensor, n, k, mOut int) {
	if m.LoRA == nil {
		return
	}
	a := m.LoRA.byWeight[w]
	if a == nil {
		return
	}
	e, r := m.Engine, m.LoRA.Rank
	if a.z != nil {
		e.Free(a.z)
	}
	a.z, a.zn = e.Alloc(n*r), n // [n, r]
	e.MatMul(a.z, x, a.A, n, k, r)
	if m.LoRA.Scale != 1 && !m.LoRA.folded {
		e.(TrainEngine).Scale(a.z, n*r, m.LoRA.Scale) // attach folds s into B otherwise
	}
	y := e.Alloc(n * mOut) // [n, mOut]
	e.MatMul(y, a.z, a.B, n, r, mOut)
	e.Add(out, out, y, n*mOut)
	e.Free(y)
}

// adaptBackward back-propagates dout [n, mOut] through the adapter of w, if
// any: GB += doutᵀ·z, GA += s·(dout·B)ᵀ·x, dx [n, k] += s·(dout·B)·A. It
// does nothing when the model has no adapters.
func (m *Model) adaptBackward(e TrainEngine, dx, dout, x, w Tensor, n, k, mOut int) {
	if m.LoRA == nil {
		return
	}
	a := m.LoRA.byWeight[w]
	if a == nil || a.z == nil || a.zn != n {
		return
	}
	r := m.LoRA.Rank
	gb, ga := a.GB, a.GA
	if gb == nil { // frozen adapters: gradients only flow through
		gb, ga = e.Alloc(mOut*r), e.Alloc(r*k)
		defer e.Free(gb)
		defer e.Free(ga)
	}
	dz := e.Alloc(n * r) // [n, r]
	e.MatMulBackward(dz, gb, dout, a.z, a.B, n, r, mOut, false)
	if m.LoRA.Scale != 1 {
		e.Scale(dz, n*r, m.LoRA.Scale)
	}
	e.MatMulBackward(dx, ga, dz, x, a.A, n, k, r, true)
	e.Free(dz)
}

// MergeLoRA returns host weights with every adapter folded in:
// W ← W + s·B·A (float32 result of a float64 product). base is not changed.
func MergeLoRA(c Config, base *Weights, adapters map[string][]float32, rank int, scale float32) (*Weights, error) {
	out := &Weights{}
	bp := c.Params(base)
	used := 0
	for i, p := range c.Params(out) {
		src, ok := (*bp[i].Ptr).(*Host)
		if !ok {
			return nil, fmt.Errorf("model: merge: %s is not a host tensor", p.Name)
		}
		data := slices.Clone(src.Data)
		mod := strings.TrimSuffix(p.Name, ".weight")
		a, okA := adapters[mod+".lora.A.weight"]
		b, okB := adapters[mod+".lora.B.weight"]
		if okA != okB {
			return nil, fmt.Errorf("model: merge: %s needs both lora.A and lora.B", mod)
		}
		if okA {
			rows, cols := p.Shape[0], p.Shape[1]
			if len(a) != rank*cols || len(b) != rows*rank {
				return nil, fmt.Errorf("model: merge: %s: adapter sizes %d, %d do not fit [%d, %d] at rank %d", mod, len(a), len(b), rows, cols, rank)
			}
			for i := range rows {
				for j := range cols {
					var s float64
					for q := range rank {
						s += float64(b[i*rank+q]) * float64(a[q*cols+j])
					}
					data[i*cols+j] += float32(float64(scale) * s)
				}
			}
			used++
		}
		*p.Ptr = &Host{Data: data}
	}
	if used*2 != countLoRA(adapters) {
		return nil, fmt.Errorf("model: merge: %d adapter tensors, %d match this model's layers", countLoRA(adapters), used*2)
	}
	return out, nil
}

func countLoRA(t map[string][]float32) int {
	n := 0
	for k := range t {
		if strings.Contains(k, ".lora.") {
			n++
		}
	}
	return n
}

// adaptQKV applies the adapters of the q, k and v projections of one layer.
func (m *Model) adaptQKV(la *layerActs, lw *LayerWeights, N int) {
	if m.LoRA == nil {
		return
	}
	c := m.Config
	D, qd, kvd := c.Hidden, c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	m.adapt(la.q, la.h1, lw.Q, N, D, qd)
	m.adapt(la.k, la.h1, lw.K, N, D, kvd)
	m.adapt(la.v, la.h1, lw.V, N, D, kvd)
}

// adaptQKVBackward back-propagates through the q, k and v adapters: dq
// [N, H·hd], dk and dv [N, KVH·hd] are the gradients of the projections'
// outputs (before q/k-norm and RoPE); dh1 [N, D] receives the input gradient.
func (m *Model) adaptQKVBackward(e TrainEngine, la *layerActs, lw *LayerWeights, dh1, dq, dk, dv Tensor, N int) {
	if m.LoRA == nil {
		return
	}
	c := m.Config
	D, qd, kvd := c.Hidden, c.Heads*c.HeadDim, c.KVHeads*c.HeadDim
	m.adaptBackward(e, dh1, dq, la.h1, lw.Q, N, D, qd)
	m.adaptBackward(e, dh1, dk, la.h1, lw.K, N, D, kvd)
	m.adaptBackward(e, dh1, dv, la.h1, lw.V, N, D, kvd)
}
