package model

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
)

// TraceStep is one named intermediate of a forward pass.
type TraceStep struct {
	Name  string    `json:"name"`
	Shape []int     `json:"shape"`
	Data  []float32 `json:"data"` // row-major
}

// Trace records the named intermediates of a forward pass, in order:
// "embed"; per layer i "layers.{i}.input_norm", ".q" and ".k" (after q/k-norm
// and RoPE), ".v", ".attn_scores" (scaled, masked with -Inf, pre-softmax),
// ".attn_probs", ".attn_out" (after o_proj), ".resid_mid", ".post_norm",
// ".router" (MoE), ".ffn_out", ".resid_out"; then "final_norm" and "logits".
// Shapes are those of one sequence: [T, D], [T, H, hd], [H, T, S], [T, V].
//
// With Detail set, the trace also records the steps an explanation needs
// (T new tokens, S = cached + new positions, F the SwiGLU width, E experts,
// k experts per token); (host) marks values derived on the host from the
// engine's tensors, the rest are read from the engine as computed:
//
//	"tokens"                    [T]        the token ids (as float32)
//	"layers.{i}.input_rms"      [T]        (host) 1/sqrt(mean(x²)+eps) of the residual x
//	"layers.{i}.input_norm_weight" [D]     the RMSNorm's weight g
//	"layers.{i}.q_proj"         [T, H, hd] h·Wq, before q-norm and RoPE
//	"layers.{i}.k_proj"         [T, KVH, hd]
//	"layers.{i}.q_norm"         [T, H, hd] after q-norm, before RoPE (MiniMind3)
//	"layers.{i}.k_norm"         [T, KVH, hd]
//	"layers.{i}.k_cache"        [S, KVH, hd] the KV cache after this pass (with a cache)
//	"layers.{i}.v_cache"        [S, KVH, hd]
//	"layers.{i}.attn_ctx"       [T, H, hd] Σ probs·V per head, before o_proj
//	"layers.{i}.post_rms"       [T]        (host) 1/sqrt(mean(x²)+eps) of resid_mid
//	"layers.{i}.post_norm_weight" [D]      its weight
//	"layers.{i}.gate", ".up"    [T, F]     dense SwiGLU projections
//	"layers.{i}.silu"           [T, F]     (host) silu(gate)
//	"layers.{i}.act"            [T, F]     silu(gate) ⊙ up, the input of down
//	"layers.{i}.router_experts" [T, k]     (host) chosen experts, best first (MoE)
//	"layers.{i}.router_weights" [T, k]     (host) their weights
//	"layers.{i}.moe_routed"     [T, D]     Σ weight·expert(x) over the chosen experts
//	"layers.{i}.shared_out"     [T, D]     the shared expert's output (when there is one)
//	"probs"                     [rows, V]  (host) softmax of the logits
//
// Each is recorded right after the step it follows in the list above; with
// Detail off none of this costs anything.
type Trace struct {
	Steps []TraceStep
	// Detail also records the explanation steps listed above.
	Detail bool
	// Prefix is put before every recorded name (for example "next." for the
	// decode step that follows a traced prefill).
	Prefix string
}

// record copies t back to the host under name. A nil trace records nothing.
func (tr *Trace) record(e Engine, name string, t Tensor, shape ...int) {
	if tr == nil {
		return
	}
	tr.recordHost(name, e.Read(t), shape...)
}

// recordHost records host data under name (a nil trace records nothing).
func (tr *Trace) recordHost(name string, data []float32, shape ...int) {
	if tr == nil {
		return
	}
	n := 1
	for _, d := range shape {
		n *= d
	}
	if len(data) < n {
		// A copy of shape goes into the message, so that shape does not
		// escape: the callers' variadic shapes then stay on their stacks.
		panic(fmt.Sprintf("model: trace %s: tensor has %d elements, shape %v needs %d", name, len(data), slices.Clone(shape), n))
	}
	tr.Steps = append(tr.Steps, TraceStep{Name: tr.Prefix + name, Shape: append([]int(nil), shape...), Data: data[:n]})
}

// detail reports whether the explanation steps are recorded.
func (tr *Trace) detail() bool { return tr != nil && tr.Detail }

// recordDetail records t only when Detail is set.
func (tr *Trace) recordDetail(e Engine, name string, t Tensor, shape ...int) {
	if tr.detail() {
		tr.record(e, name, t, shape...)
	}
}

// recordRMS records 1/sqrt(mean(x²)+eps) of each of the n rows of x [n, d].
func (tr *Trace) recordRMS(e Engine, name string, x Tensor, n, d int, eps float64) {
	if !tr.detail() {
		return
	}
	xs := e.Read(x)
	out := make([]float32, n) // [n]
	for i := range n {
		var ss float64
		for _, v := range xs[i*d : (i+1)*d] {
			ss += float64(v) * float64(v)
		}
		out[i] = float32(1 / math.Sqrt(ss/float64(d)+eps))
	}
	tr.recordHost(name, out, n)
}

// recordSiLU records silu(g) = g·σ(g) of the engine's tensor g [n].
func (tr *Trace) recordSiLU(e Engine, name string, g Tensor, shape ...int) {
	if !tr.detail() {
		return
	}
	gs := e.Read(g)
	out := make([]float32, len(gs))
	for i, v := range gs {
		out[i] = float32(float64(v) / (1 + math.Exp(-float64(v))))
	}
	tr.recordHost(name, out, shape...)
}

// recordSoftmax records the row-wise softmax of logits [rows, v].
func (tr *Trace) recordSoftmax(e Engine, name string, logits Tensor, rows, v int) {
	if !tr.detail() {
		return
	}
	ls := e.Read(logits)
	out := make([]float32, rows*v) // [rows, v]
	for r := range rows {
		row := ls[r*v : (r+1)*v]
		mx := math.Inf(-1)
		for _, x := range row {
			mx = math.Max(mx, float64(x))
		}
		var sum float64
		for _, x := range row {
			sum += math.Exp(float64(x) - mx)
		}
		for j, x := range row {
			out[r*v+j] = float32(math.Exp(float64(x)-mx) / sum)
		}
	}
	tr.recordHost(name, out, rows, v)
}

// recordRouting records the chosen experts and their weights [n, k].
func (tr *Trace) recordRouting(prefix string, r *Routing, n, k int) {
	if !tr.detail() {
		return
	}
	ex := make([]float32, n*k) // [n, k]
	for i, v := range r.Experts {
		ex[i] = float32(v)
	}
	tr.recordHost(prefix+"router_experts", ex, n, k)
	tr.recordHost(prefix+"router_weights", append([]float32(nil), r.Weights...), n, k)
}

// Step returns the step with the given name, or nil.
func (tr *Trace) Step(name string) *TraceStep {
	for i := range tr.Steps {
		if tr.Steps[i].Name == name {
			return &tr.Steps[i]
		}
	}
	return nil
}

// Names lists the recorded step names in order.
func (tr *Trace) Names() []string {
	names := make([]string, len(tr.Steps))
	for i, s := range tr.Steps {
		names[i] = s.Name
	}
	return names
}

// WriteJSON writes the trace as {"tokens":[...], "config":{...},
// "steps":[{"name","shape","data"}...]}; non-finite values (the masked
// attention scores) are written as null.
func (tr *Trace) WriteJSON(w io.Writer, cfg Config, ids []int32) error {
	cj, err := json.Marshal(cfg)
	if err != nil {
		return err
	}
	tj, _ := json.Marshal(ids)
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "{\"tokens\":%s,\"config\":%s,\"steps\":[", tj, cj)
	var buf []byte
	for i, s := range tr.Steps {
		if i > 0 {
			bw.WriteByte(',')
		}
		nj, _ := json.Marshal(s.Name)
		sj, _ := json.Marshal(s.Shape)
		fmt.Fprintf(bw, "\n{\"name\":%s,\"shape\":%s,\"data\":[", nj, sj)
		for j, v := range s.Data {
			buf = buf[:0]
			if j > 0 {
				buf = append(buf, ',')
			}
			if math.IsInf(float64(v), 0) || math.IsNaN(float64(v)) {
				buf = append(buf, "null"...)
			} else {
				buf = strconv.AppendFloat(buf, float64(v), 'g', -1, 32)
			}
			bw.Write(buf)
		}
		bw.WriteString("]}")
	}
	bw.WriteString("]}\n")
	return bw.Flush()
}
