package model

// Tensor is a handle to a buffer of float32 values owned by an Engine. The
// buffer may live in host memory (CPU engine) or on a device (WebGPU, CUDA);
// the model never reads it except through Engine.Read. Shapes are recorded
// for error messages and tracing; ops take their dimensions explicitly, so a
// tensor may be viewed with any shape of the same size.
type Tensor interface {
	// Len is the number of float32 elements.
	Len() int
}

// AttnArgs describes one causal grouped-query attention call.
//
//	q   [B, T, H, hd]     the queries (after RoPE)
//	k,v [B, S, KVH, hd]   keys/values; rows 0 .. Pos0+T-1 of each sequence are valid
//	out [B, T, H·hd]
//
// Query t of a sequence sits at absolute position Pos0+t and sees keys
// 0..Pos0+t. Query head h uses kv head h/(H/KVH).
type AttnArgs struct {
	B, T           int
	Heads, KVHeads int
	HeadDim        int
	S              int // rows per sequence in k and v (cache capacity, or T without a cache)
	Pos0           int // absolute position of the first query
	Scale          float32
	// Docs, when non-nil, holds [B·T] document ids (packed rows, Pos0 = 0,
	// S = T): a query sees only keys of its own document.
	Docs []int32
	// Scores and Probs, when non-nil, receive [B, H, T, Pos0+T] pre-softmax
	// masked scores (masked = -Inf) and probabilities, for tracing.
	Scores, Probs Tensor
}

// Engine runs the ops of the forward pass. The op sequence of the model is
// written once (Model.Forward) against this interface; the CPU engine, the
// WebGPU engine and the CUDA engine implement it. Ops are enqueued in order;
// an engine may run them asynchronously as long as Read returns the result of
// every op issued before it. Buffers are row-major.
type Engine interface {
	// Name identifies the engine ("cpu", "webgpu", "cuda").
	Name() string
	// Alloc returns a zero-filled tensor of n elements.
	Alloc(n int) Tensor
	// Upload copies host data into a new tensor.
	Upload(data []float32) Tensor
	// Read copies a tensor back to host memory.
	Read(t Tensor) []float32
	// Free releases a tensor; using it afterwards is an error.
	Free(t Tensor)
	// Copy copies n elements: dst[dstOff:dstOff+n] = src[srcOff:srcOff+n].
	Copy(dst Tensor, dstOff int, src Tensor, srcOff, n int)

	// Embed gathers rows: out[i, :] = table[ids[i], :]; out [len(ids), dim], table [V, dim].
	Embed(out, table Tensor, ids []int32, dim int)
	// RMSNorm: out[r, :] = w ⊙ x[r, :] · rsqrt(mean(x[r, :]²) + eps); x, out [rows, dim], w [dim].
	RMSNorm(out, x, w Tensor, rows, dim int, eps float32)
	// MatMul: out[n, m] = x[n, k] · w[m, k]ᵀ (a Linear layer with weight [out, in]).
	MatMul(out, x, w Tensor, n, k, m int)
	// RoPE rotates x [len(pos), heads, hd] in place in the rotate_half layout:
	// x' = x·cos + rotate_half(x)·sin with cos/sin [maxPos, hd/2] read at row pos[i].
	RoPE(x, cos, sin Tensor, pos []int32, heads, hd int)
	// Attention computes causal GQA attention (see AttnArgs).
	Attention(out, q, k, v Tensor, a AttnArgs)
	// SwiGLU: out[i] = silu(gate[i]) · up[i] for i < n.
	SwiGLU(out, gate, up Tensor, n int)
	// Add: out[i] = a[i] + b[i] for i < n (out may alias a or b).
	Add(out, a, b Tensor, n int)
	// Softmax over rows: out[r, :] = softmax(x[r, :]); x, out [rows, cols].
	Softmax(out, x Tensor, rows, cols int)
	// Gather: out[i, :] = x[rows[i], :]; out [len(rows), dim].
	Gather(out, x Tensor, rows []int32, dim int)
	// ScatterAdd: out[rows[i], :] += w[i] · x[i, :]; x [len(rows), dim].
	ScatterAdd(out, x Tensor, rows []int32, w []float32, dim int)
}

// ReadToEngine is implemented by engines that can copy a tensor into a host
// buffer the caller keeps, so that reading the logits of every decoding step
// does not allocate.
type ReadToEngine interface {
	// ReadTo copies t into dst[:t.Len()], reallocated when its capacity
	// is smaller, and returns it.
	ReadTo(dst []float32, t Tensor) []float32
}

// ReadTo copies t into dst (reallocated when its capacity is smaller) with
// e's ReadTo, or returns e.Read(t) when e has none.
func ReadTo(e Engine, dst []float32, t Tensor) []float32 {
	if re, ok := e.(ReadToEngine); ok {
		return re.ReadTo(dst, t)
	}
	return e.Read(t)
}
