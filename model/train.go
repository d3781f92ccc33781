package model

import (
	"errors"
	"fmt"
)

// IgnoreIndex marks a label that takes no part in the loss.
const IgnoreIndex = -100

// AdamWStep holds the hyper-parameters of one AdamW update (PyTorch
// semantics): decoupled weight decay p -= lr·wd·p, then
// m = β1·m + (1-β1)·g, v = β2·v + (1-β2)·g², p -= lr·m̂/(√v̂ + eps) with the
// bias corrections of step Step (counting from 1).
type AdamWStep struct {
	LR, Beta1, Beta2, Eps, WeightDecay float32
	Step                               int
}

// TrainEngine is an Engine that can also run the backward pass and the
// optimizer. Gradient outputs named d… for weights are accumulated (+=);
// gradient outputs for activations are overwritten unless stated.
type TrainEngine interface {
	Engine

	// Zero sets the first n elements of t to 0.
	Zero(t Tensor, n int)
	// Scale multiplies the first n elements of t by s.
	Scale(t Tensor, n int, s float32)
	// SumSquares returns Σ t[i]² over the first n elements (float64 accumulation).
	SumSquares(t Tensor, n int) float64
	// AdamW updates parameter p [n] from gradient g with moments m, v.
	AdamW(p, g, m, v Tensor, n int, s AdamWStep)

	// CrossEntropy computes, for rows r with labels[r] ≠ IgnoreIndex, the
	// loss -log softmax(logits[r])[labels[r]] and writes
	// dlogits[r] = scale·(softmax(logits[r]) - onehot(labels[r])) (zero rows
	// for ignored labels). It returns the summed loss and the number of
	// counted rows. logits, dlogits [rows, V]; dlogits may alias logits.
	CrossEntropy(dlogits, logits Tensor, labels []int32, rows, V int, scale float32) (sum float64, count int)
	// EmbedBackward: dtable[ids[i], :] += dout[i, :].
	EmbedBackward(dtable, dout Tensor, ids []int32, dim int)
	// RMSNormBackward: dx[r] = ∂/∂x, dw += Σ_r ∂/∂w, for out = RMSNorm(x, w).
	RMSNormBackward(dx, dw, dout, x, w Tensor, rows, dim int, eps float32)
	// MatMulBackward for out[n,m] = x[n,k]·w[m,k]ᵀ: dx = dout·w (skipped
	// when dx is nil; accumulated when accX), dw += doutᵀ·x (skipped when dw
	// is nil: a frozen weight).
	MatMulBackward(dx, dw, dout, x, w Tensor, n, k, m int, accX bool)
	// RoPEBackward rotates the gradient dx [len(pos), heads, hd] back in place.
	RoPEBackward(dx, cos, sin Tensor, pos []int32, heads, hd int)
	// AttentionBackward computes dq [B,T,H,hd], dk and dv [B,S,KVH,hd]
	// (overwritten) from dout [B,T,H·hd] for Attention(out, q, k, v, a)
	// without a cache (S = T, Pos0 = 0).
	AttentionBackward(dq, dk, dv, dout, q, k, v Tensor, a AttnArgs)
	// SwiGLUBackward for out = silu(gate)·up: dgate, dup (overwritten).
	SwiGLUBackward(dgate, dup, dout, gate, up Tensor, n int)
	// RowDot: out[i] = Σ_j a[rows[i], j]·b[i, j], returned on the host.
	RowDot(a, b Tensor, rows []int32, dim int) []float32
	// GatherScaled: out[i, :] = w[i]·x[rows[i], :] (the backward of ScatterAdd).
	GatherScaled(out, x Tensor, rows []int32, w []float32, dim int)
	// SoftmaxBackward: dx[r] = y[r] ⊙ (dy[r] - ⟨dy[r], y[r]⟩); y = softmax output.
	SoftmaxBackward(dx, dy, y Tensor, rows, cols int)
}

// Batch is one micro-batch of B training rows of T tokens.
type Batch struct {
	B, T   int
	Input  []int32 // [B·T] token ids
	Labels []int32 // [B·T] labels; the loss compares logits[t] with Labels[t+1]; IgnoreIndex skips
	// Positions and Docs describe packed rows (several documents a row):
	// RoPE positions restarting at each document, and the document id of
	// each token (attention stays inside a document). Both nil when unpacked.
	Positions []int32
	Docs      []int32
	// Samples optionally lists the data set indices of the batch's samples
	// (stages that cache per-sample values, such as DPO's reference
	// log-probabilities, look them up by index).
	Samples []int32
}

// Validate checks the batch's sizes and ids against c.
func (b Batch) Validate(c Config) error {
	n := b.B * b.T
	if b.B <= 0 || b.T <= 1 || len(b.Input) != n || len(b.Labels) != n {
		return fmt.Errorf("model: batch of %d×%d needs %d inputs and labels, has %d and %d", b.B, b.T, n, len(b.Input), len(b.Labels))
	}
	if (b.Positions != nil && len(b.Positions) != n) || (b.Docs != nil && len(b.Docs) != n) {
		return errors.New("model: batch positions/docs must have one entry per token")
	}
	for i, l := range b.Labels {
		if l != IgnoreIndex && (l < 0 || int(l) >= c.Vocab) {
			return fmt.Errorf("model: label %d at index %d is outside the vocabulary", l, i)
		}
	}
	return nil
}

// LossInfo reports the loss of one micro-batch.
type LossInfo struct {
	Loss    float64 // CE + Aux
	CE      float64 // mean cross-entropy over counted targets
	Aux     float64 // MoE auxiliary loss (0 for dense models)
	Targets int     // counted (non-ignored) targets
}
