package model

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"math"
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
type Trace struct {
	Steps []TraceStep
}

// record copies t back to the host under name. A nil trace records nothing.
func (tr *Trace) record(e Engine, name string, t Tensor, shape ...int) {
	if tr == nil {
		return
	}
	n := 1
	for _, d := range shape {
		n *= d
	}
	data := e.Read(t)
	if len(data) < n {
		panic(fmt.Sprintf("model: trace %s: tensor has %d elements, shape %v needs %d", name, len(data), shape, n))
	}
	tr.Steps = append(tr.Steps, TraceStep{Name: name, Shape: append([]int(nil), shape...), Data: data[:n]})
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
