package model

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
)

// Model is a MiniMind model whose weights live on an engine.
type Model struct {
	Config Config
	Engine Engine
	W      *Weights // weights on Engine
	LoRA   *LoRA    // low-rank adapters applied in Forward (nil: none)
	// ropeTab holds the RoPE tables, shared by copies of the model.
	ropeTab *ropeTables
	ropeN   int // positions the model accepts
}

// maxRopeTable caps the RoPE tables (they grow on demand up to it); longer
// contexts are rejected by Forward with a clear error.
const maxRopeTable = 1 << 15

// New uploads host weights to engine e and returns the model.
func New(c Config, e Engine, host *Weights) (*Model, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	w, err := c.Upload(e, host)
	if err != nil {
		return nil, err
	}
	return NewOnEngine(c, e, w)
}

// NewOnEngine wraps weights that already live on engine e.
func NewOnEngine(c Config, e Engine, w *Weights) (*Model, error) {
	if err := c.Validate(); err != nil {
		return nil, err
	}
	n := min(c.MaxPos, maxRopeTable)
	return &Model{Config: c, Engine: e, W: w, ropeTab: newRopeTables(c, e, min(n, ropeStart)), ropeN: n}, nil
}

// KVCache holds the keys and values of the tokens seen so far, per layer.
type KVCache struct {
	B, Cap int      // sequences, positions per sequence
	Len    int      // positions filled in every sequence
	K, V   []Tensor // per layer [B, Cap, KVH, hd]
}

// NewCache allocates a cache for b sequences of up to capacity tokens.
func (m *Model) NewCache(b, capacity int) *KVCache {
	c := m.Config
	kc := &KVCache{B: b, Cap: capacity}
	n := b * capacity * c.KVHeads * c.HeadDim
	for range c.Layers {
		kc.K = append(kc.K, m.Engine.Alloc(n))
		kc.V = append(kc.V, m.Engine.Alloc(n))
	}
	return kc
}

// Free releases the cache's tensors.
func (kc *KVCache) Free(e Engine) {
	for i := range kc.K {
		e.Free(kc.K[i])
		e.Free(kc.V[i])
	}
	kc.K, kc.V = nil, nil
}

// ForwardOptions selects what Forward does besides computing logits.
type ForwardOptions struct {
	// Cache, when set, supplies the keys/values of earlier positions and
	// receives those of the new tokens; the new tokens start at Cache.Len.
	Cache *KVCache
	// Positions optionally gives [B·T] explicit RoPE positions (packed rows).
	Positions []int32
	// Docs optionally gives [B·T] document ids: attention stays inside a document.
	Docs []int32
	// Trace, when set, records the named intermediates (B must be 1).
	Trace *Trace
	// LastOnly computes logits only for the last token of each sequence.
	LastOnly bool
	// Tape, when set, keeps the activations that Backward needs.
	Tape *Tape
}

// ErrContextFull is returned when the tokens do not fit the KV cache or the
// model's position range.
var ErrContextFull = errors.New("model: context is full")

// Forward runs B sequences of T = len(ids)/B new tokens each and returns the
// logits: [B·T, V], or [B, V] with LastOnly. The caller frees the result.
func (m *Model) Forward(ids []int32, B int, opt ForwardOptions) (Tensor, error) {
	c, e := m.Config, m.Engine
	if B <= 0 || len(ids) == 0 || len(ids)%B != 0 {
		return nil, fmt.Errorf("model: %d ids cannot be split into %d sequences", len(ids), B)
	}
	T := len(ids) / B
	N := B * T
	for i, id := range ids {
		if id < 0 || int(id) >= c.Vocab {
			return nil, fmt.Errorf("model: token id %d at position %d is outside the vocabulary [0, %d)", id, i, c.Vocab)
		}
	}
	pos0, S := 0, T
	if kc := opt.Cache; kc != nil {
		if kc.B != B {
			return nil, fmt.Errorf("model: cache holds %d sequences, got %d", kc.B, B)
		}
		if kc.Len+T > kc.Cap {
			return nil, fmt.Errorf("%w: %d cached + %d new tokens exceed the cache capacity %d", ErrContextFull, kc.Len, T, kc.Cap)
		}
		pos0, S = kc.Len, kc.Cap
	}
	pos := opt.Positions
	if pos == nil {
		pos = make([]int32, N)
		for b := range B {
			for t := range T {
				pos[b*T+t] = int32(pos0 + t)
			}
		}
	} else if len(pos) != N {
		return nil, fmt.Errorf("model: %d positions for %d tokens", len(pos), N)
	}
	for _, p := range pos {
		if p < 0 || int(p) >= m.ropeN {
			return nil, fmt.Errorf("%w: position %d is beyond the model's %d positions", ErrContextFull, p, m.ropeN)
		}
	}
	cos, sin := m.rope(maxPosition(pos)) // [≥ max(pos)+1, hd/2]
	if opt.Docs != nil && (len(opt.Docs) != N || opt.Cache != nil) {
		return nil, fmt.Errorf("model: document ids need one id per token and no KV cache")
	}
	if opt.Trace != nil && B != 1 {
		return nil, fmt.Errorf("model: tracing needs a single sequence, got %d", B)
	}
	if tp := opt.Tape; tp != nil {
		tp.reset(ids, B, T, pos, opt.Docs)
	}

	D, H, KVH, hd := c.Hidden, c.Heads, c.KVHeads, c.HeadDim
	tr := opt.Trace
	x := e.Alloc(N * D) // [N, D] the residual stream
	e.Embed(x, m.W.Embed, ids, D)
	if tr.detail() {
		tr.recordHost("tokens", idsAsFloats(ids), T)
	}
	tr.record(e, "embed", x, T, D)

	for li := range c.Layers {
		lw := &m.W.Layers[li]
		name := func(s string) string {
			if tr == nil {
				return "" // not recorded: skip the formatting
			}
			return fmt.Sprintf("layers.%d.%s", li, s)
		}
		la := layerActs{xIn: x}

		// Attention block.
		la.h1 = e.Alloc(N * D) // [N, D]
		tr.recordRMS(e, name("input_rms"), x, T, D, c.NormEps)
		tr.recordDetail(e, name("input_norm_weight"), lw.InputNorm, D)
		e.RMSNorm(la.h1, x, lw.InputNorm, N, D, float32(c.NormEps))
		tr.record(e, name("input_norm"), la.h1, T, D)
		la.q = e.Alloc(N * H * hd)   // [N, H, hd]
		la.k = e.Alloc(N * KVH * hd) // [N, KVH, hd]
		la.v = e.Alloc(N * KVH * hd) // [N, KVH, hd]
		e.MatMul(la.q, la.h1, lw.Q, N, D, H*hd)
		e.MatMul(la.k, la.h1, lw.K, N, D, KVH*hd)
		e.MatMul(la.v, la.h1, lw.V, N, D, KVH*hd)
		m.adaptQKV(&la, lw, N)
		tr.recordDetail(e, name("q_proj"), la.q, T, H, hd)
		tr.recordDetail(e, name("k_proj"), la.k, T, KVH, hd)
		if c.QKNorm() {
			la.qRaw, la.kRaw = la.q, la.k
			la.q, la.k = e.Alloc(N*H*hd), e.Alloc(N*KVH*hd)
			e.RMSNorm(la.q, la.qRaw, lw.QNorm, N*H, hd, float32(c.NormEps))
			e.RMSNorm(la.k, la.kRaw, lw.KNorm, N*KVH, hd, float32(c.NormEps))
			tr.recordDetail(e, name("q_norm"), la.q, T, H, hd)
			tr.recordDetail(e, name("k_norm"), la.k, T, KVH, hd)
		}
		e.RoPE(la.q, cos, sin, pos, H, hd)
		e.RoPE(la.k, cos, sin, pos, KVH, hd)
		tr.record(e, name("q"), la.q, T, H, hd)
		tr.record(e, name("k"), la.k, T, KVH, hd)
		tr.record(e, name("v"), la.v, T, KVH, hd)

		kAll, vAll := la.k, la.v
		if kc := opt.Cache; kc != nil {
			row := KVH * hd
			for b := range B {
				e.Copy(kc.K[li], (b*kc.Cap+pos0)*row, la.k, b*T*row, T*row)
				e.Copy(kc.V[li], (b*kc.Cap+pos0)*row, la.v, b*T*row, T*row)
			}
			kAll, vAll = kc.K[li], kc.V[li]
			tr.recordDetail(e, name("k_cache"), kAll, pos0+T, KVH, hd)
			tr.recordDetail(e, name("v_cache"), vAll, pos0+T, KVH, hd)
		}
		la.att = e.Alloc(N * H * hd) // [N, H·hd]
		args := AttnArgs{B: B, T: T, Heads: H, KVHeads: KVH, HeadDim: hd, S: S, Pos0: pos0,
			Scale: float32(1 / math.Sqrt(float64(hd))), Docs: opt.Docs}
		if tr != nil {
			args.Scores = e.Alloc(H * T * (pos0 + T))
			args.Probs = e.Alloc(H * T * (pos0 + T))
		}
		e.Attention(la.att, la.q, kAll, vAll, args)
		if tr != nil {
			tr.record(e, name("attn_scores"), args.Scores, H, T, pos0+T)
			tr.record(e, name("attn_probs"), args.Probs, H, T, pos0+T)
			e.Free(args.Scores)
			e.Free(args.Probs)
		}
		tr.recordDetail(e, name("attn_ctx"), la.att, T, H, hd)
		ao := e.Alloc(N * D) // [N, D]
		e.MatMul(ao, la.att, lw.O, N, H*hd, D)
		m.adapt(ao, la.att, lw.O, N, H*hd, D)
		tr.record(e, name("attn_out"), ao, T, D)
		la.xMid = e.Alloc(N * D) // [N, D]
		e.Add(la.xMid, x, ao, N*D)
		e.Free(ao)
		tr.record(e, name("resid_mid"), la.xMid, T, D)

		// Feed-forward block.
		la.h2 = e.Alloc(N * D) // [N, D]
		tr.recordRMS(e, name("post_rms"), la.xMid, T, D, c.NormEps)
		tr.recordDetail(e, name("post_norm_weight"), lw.PostNorm, D)
		e.RMSNorm(la.h2, la.xMid, lw.PostNorm, N, D, float32(c.NormEps))
		tr.record(e, name("post_norm"), la.h2, T, D)
		var f Tensor // [N, D]
		if c.UseMoE {
			var err error
			f, err = m.moe(&la, lw, N, tr, fmt.Sprintf("layers.%d.router", li), opt.Tape != nil)
			if err != nil {
				return nil, err
			}
		} else {
			f = m.ffn(&la.dense, lw.FFN, la.h2, N)
			if tr.detail() {
				tr.record(e, name("gate"), la.dense.gate, T, c.FFN)
				tr.recordSiLU(e, name("silu"), la.dense.gate, T, c.FFN)
				tr.record(e, name("up"), la.dense.up, T, c.FFN)
				tr.record(e, name("act"), la.dense.act, T, c.FFN)
			}
		}
		tr.record(e, name("ffn_out"), f, T, D)
		out := e.Alloc(N * D) // [N, D]
		e.Add(out, la.xMid, f, N*D)
		e.Free(f)
		tr.record(e, name("resid_out"), out, T, D)

		if opt.Tape != nil {
			opt.Tape.layers = append(opt.Tape.layers, la)
		} else {
			la.free(e)
		}
		x = out
	}
	if kc := opt.Cache; kc != nil {
		kc.Len += T
	}

	xf := e.Alloc(N * D) // [N, D]
	e.RMSNorm(xf, x, m.W.Norm, N, D, float32(c.NormEps))
	tr.record(e, "final_norm", xf, T, D)
	rows, hidden := N, xf
	if opt.LastOnly {
		rows = B
		hidden = e.Alloc(B * D) // [B, D]
		for b := range B {
			e.Copy(hidden, b*D, xf, (b*T+T-1)*D, D)
		}
	}
	logits := e.Alloc(rows * c.Vocab) // [rows, V]
	e.MatMul(logits, hidden, m.W.Head(), rows, D, c.Vocab)
	tr.record(e, "logits", logits, rows, c.Vocab)
	tr.recordSoftmax(e, "probs", logits, rows, c.Vocab)
	if tp := opt.Tape; tp != nil {
		tp.xLast, tp.xFinal = x, xf
	} else {
		e.Free(x)
		e.Free(xf)
	}
	if opt.LastOnly {
		e.Free(hidden)
	}
	return logits, nil
}

// ffnActs keeps the activations of one SwiGLU block for backward.
type ffnActs struct {
	in       Tensor // [n, D] input (not owned)
	gate, up Tensor // [n, F] pre-activation projections
	act      Tensor // [n, F] silu(gate) ⊙ up
}

func (a *ffnActs) free(e Engine) {
	for _, t := range []Tensor{a.gate, a.up, a.act} {
		if t != nil {
			e.Free(t)
		}
	}
}

// ffn runs down(silu(gate·x) ⊙ up·x) for x [n, D] and returns [n, D].
func (m *Model) ffn(a *ffnActs, w FFNWeights, x Tensor, n int) Tensor {
	e, D, F := m.Engine, m.Config.Hidden, m.Config.FFN
	a.in = x
	a.gate, a.up, a.act = e.Alloc(n*F), e.Alloc(n*F), e.Alloc(n*F) // [n, F] each
	e.MatMul(a.gate, x, w.Gate, n, D, F)
	e.MatMul(a.up, x, w.Up, n, D, F)
	m.adapt(a.gate, x, w.Gate, n, D, F)
	m.adapt(a.up, x, w.Up, n, D, F)
	e.SwiGLU(a.act, a.gate, a.up, n*F)
	out := e.Alloc(n * D) // [n, D]
	e.MatMul(out, a.act, w.Down, n, F, D)
	m.adapt(out, a.act, w.Down, n, F, D)
	return out
}

// Routing is the MoE routing of one layer: for each token the chosen
// experts and their weights.
type Routing struct {
	Scores  []float32 // [N, E] softmax of the router logits
	Experts []int32   // [N, k] chosen experts, best first
	Weights []float32 // [N, k] their (renormalised) weights
	Rows    [][]int32 // [E] tokens routed to each expert
	RowW    [][]float32
	RowSlot [][]int32 // [E] the slot (0..k-1) of each routed token
}

// Route picks the top-k experts of each token from softmax scores [n, E],
// following the family's rule: MiniMind2 renormalises when k > 1 and
// norm_topk_prob (dividing by the sum + 1e-20); MiniMind3 always renormalises.
// Ties go to the lower expert index.
func (c Config) Route(scores []float32, n int) *Routing {
	E, k := c.Experts, c.TopK
	r := &Routing{Scores: scores, Experts: make([]int32, n*k), Weights: make([]float32, n*k),
		Rows: make([][]int32, E), RowW: make([][]float32, E), RowSlot: make([][]int32, E)}
	idx := make([]int, E)
	for t := range n {
		s := scores[t*E : (t+1)*E]
		for i := range idx {
			idx[i] = i
		}
		sort.SliceStable(idx, func(a, b int) bool { return s[idx[a]] > s[idx[b]] })
		var sum float32
		for j := range k {
			r.Experts[t*k+j] = int32(idx[j])
			r.Weights[t*k+j] = s[idx[j]]
			sum += s[idx[j]]
		}
		switch {
		case c.Family == MiniMind3:
			for j := range k {
				r.Weights[t*k+j] /= sum
			}
		case k > 1 && c.NormTopK:
			for j := range k {
				r.Weights[t*k+j] /= sum + 1e-20
			}
		}
		for j := range k {
			ex := idx[j]
			r.Rows[ex] = append(r.Rows[ex], int32(t))
			r.RowW[ex] = append(r.RowW[ex], r.Weights[t*k+j])
			r.RowSlot[ex] = append(r.RowSlot[ex], int32(j))
		}
	}
	return r
}

// moe runs the mixture-of-experts block on la.h2 [N, D] and returns [N, D].
// The routing decision is taken on the host from the router's softmax scores
// (one small read-back per layer), so every engine routes identically.
func (m *Model) moe(la *layerActs, lw *LayerWeights, N int, tr *Trace, traceName string, keep bool) (Tensor, error) {
	c, e := m.Config, m.Engine
	D, E := c.Hidden, c.Experts
	logits := e.Alloc(N * E) // [N, E]
	e.MatMul(logits, la.h2, lw.Router, N, D, E)
	probs := e.Alloc(N * E) // [N, E]
	e.Softmax(probs, logits, N, E)
	e.Free(logits)
	tr.record(e, traceName, probs, N, E)
	scores := e.Read(probs)
	e.Free(probs)
	for _, v := range scores {
		if math.IsNaN(float64(v)) {
			return nil, fmt.Errorf("model: %s: router produced NaN", traceName)
		}
	}
	r := c.Route(scores, N)
	la.route = r
	layer := strings.TrimSuffix(traceName, "router") // "layers.{i}."
	tr.recordRouting(layer, r, N, c.TopK)
	out := e.Alloc(N * D) // [N, D]
	la.experts = make([]ffnActs, E)
	la.expertIn = make([]Tensor, E)
	la.expertOut = make([]Tensor, E)
	for ex := range E {
		rows := r.Rows[ex]
		if len(rows) == 0 {
			continue
		}
		xe := e.Alloc(len(rows) * D) // [n_e, D]
		e.Gather(xe, la.h2, rows, D)
		la.expertIn[ex] = xe
		ye := m.ffn(&la.experts[ex], lw.Experts[ex], xe, len(rows)) // [n_e, D]
		e.ScatterAdd(out, ye, rows, r.RowW[ex], D)
		if keep {
			la.expertOut[ex] = ye // the routing weights' gradient needs it
		} else {
			e.Free(ye)
		}
	}
	tr.recordDetail(e, layer+"moe_routed", out, N, D)
	la.shared = make([]ffnActs, len(lw.Shared))
	for j := range lw.Shared {
		ys := m.ffn(&la.shared[j], lw.Shared[j], la.h2, N) // [N, D]
		if len(lw.Shared) == 1 {
			tr.recordDetail(e, layer+"shared_out", ys, N, D)
		} else {
			tr.recordDetail(e, fmt.Sprintf("%sshared_out.%d", layer, j), ys, N, D)
		}
		e.Add(out, out, ys, N*D)
		e.Free(ys)
	}
	return out, nil
}

// layerActs keeps one layer's activations: freed after the layer at
// inference, kept on the Tape for training.
type layerActs struct {
	xIn        Tensor // [N, D] residual input (owned by the previous layer / embed)
	h1         Tensor // [N, D] input_norm
	qRaw, kRaw Tensor // [N, H, hd], [N, KVH, hd] before q/k-norm (MiniMind3)
	q, k, v    Tensor // after norm + RoPE
	att        Tensor // [N, H·hd] attention output before o_proj
	xMid       Tensor // [N, D]
	h2         Tensor // [N, D] post_norm
	dense      ffnActs
	route      *Routing
	experts    []ffnActs
	expertIn   []Tensor // [E] gathered inputs [n_e, D]
	expertOut  []Tensor // [E] expert outputs [n_e, D] before weighting (training only)
	shared     []ffnActs
}

func (la *layerActs) free(e Engine) {
	for _, t := range []Tensor{la.xIn, la.h1, la.qRaw, la.kRaw, la.q, la.k, la.v, la.att, la.h2} {
		if t != nil {
			e.Free(t)
		}
	}
	// xMid becomes the residual input of nothing; the next layer owns resid_out.
	if la.xMid != nil {
		e.Free(la.xMid)
	}
	la.dense.free(e)
	for i := range la.experts {
		la.experts[i].free(e)
	}
	for _, ts := range [][]Tensor{la.expertIn, la.expertOut} {
		for _, t := range ts {
			if t != nil {
				e.Free(t)
			}
		}
	}
	for i := range la.shared {
		la.shared[i].free(e)
	}
}

// Tape keeps what a training forward pass saves for Backward.
type Tape struct {
	Ids       []int32
	B, T      int
	Positions []int32
	Docs      []int32
	layers    []layerActs
	xLast     Tensor // [N, D] final residual
	xFinal    Tensor // [N, D] after the final norm
}

func (tp *Tape) reset(ids []int32, b, t int, pos, docs []int32) {
	*tp = Tape{Ids: ids, B: b, T: t, Positions: pos, Docs: docs}
}

// Routings returns the MoE routing of each layer of the last forward pass.
func (tp *Tape) Routings() []*Routing {
	var rs []*Routing
	for _, la := range tp.layers {
		rs = append(rs, la.route)
	}
	return rs
}

// Free releases every saved activation.
func (tp *Tape) Free(e Engine) {
	for i := range tp.layers {
		tp.layers[i].free(e)
	}
	if tp.xLast != nil {
		e.Free(tp.xLast)
		e.Free(tp.xFinal)
	}
	tp.layers, tp.xLast, tp.xFinal = nil, nil, nil
}

// idsAsFloats converts token ids for the trace.
func idsAsFloats(ids []int32) []float32 {
	out := make([]float32, len(ids))
	for i, id := range ids {
		out[i] = float32(id)
	}
	return out
}
