//go:build cuda || cudaemu

package cuda

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/cpu"
)

// CheckResult is one comparison of the CUDA engine with the CPU engine.
type CheckResult struct {
	Name string
	// Err is max |cuda − cpu| over the output divided by the RMS of the CPU
	// output (for a scalar: the relative difference).
	Err float64
	// Tol is the largest Err that passes.
	Tol float64
	// Problem is an engine error or a non-finite output, if any.
	Problem error
}

// OK reports whether the comparison passed.
func (r CheckResult) OK() bool { return r.Problem == nil && r.Err <= r.Tol }

// String is a one-line report.
func (r CheckResult) String() string {
	status := "ok  "
	if !r.OK() {
		status = "FAIL"
	}
	s := fmt.Sprintf("%s %-44s err %.2e (tol %.0e)", status, r.Name, r.Err, r.Tol)
	if r.Problem != nil {
		s += ": " + r.Problem.Error()
	}
	return s
}

// compare measures got against want (see CheckResult.Err).
func compare(name string, got, want []float32, tol float64) CheckResult {
	r := CheckResult{Name: name, Tol: tol}
	if len(got) != len(want) {
		r.Problem = fmt.Errorf("%d values, want %d", len(got), len(want))
		return r
	}
	var ss, maxd float64
	for i := range want {
		g, w := float64(got[i]), float64(want[i])
		if math.IsInf(w, 0) && g == w { // masked attention scores
			continue
		}
		if math.IsNaN(g) || math.IsInf(g, 0) {
			r.Problem = fmt.Errorf("value %d is %v (want %v)", i, g, w)
			return r
		}
		ss += w * w
		maxd = max(maxd, math.Abs(g-w))
	}
	rms := math.Sqrt(ss / float64(max(len(want), 1)))
	r.Err = maxd / max(rms, 1e-30)
	if maxd == 0 {
		r.Err = 0
	}
	return r
}

// checker runs the same op on the CPU engine and the CUDA engine.
type checker struct {
	c   *cpu.Engine
	g   *Engine
	rng *rand.Rand
	res []CheckResult
	// tolerances: element-wise float32 work, products at the engine's
	// precision, attention (on tensor cores in bf16 when no cache is used)
	tolF32, tolGEMM, tolAttn float64
}

// randn returns n values from N(0, std²) (never all zeros).
func (k *checker) randn(n int, std float64) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(k.rng.NormFloat64() * std)
	}
	return x
}

func (k *checker) ints(n, bound int) []int32 {
	x := make([]int32, n)
	for i := range x {
		x[i] = int32(k.rng.IntN(bound))
	}
	return x
}

// up uploads the same data to both engines.
func (k *checker) up(data []float32) (model.Tensor, model.Tensor) {
	return k.c.Upload(data), k.g.Upload(data)
}

// out compares tensor pair (c, g) and records the result.
func (k *checker) out(name string, c, g model.Tensor, tol float64) {
	got := k.g.Read(g)
	r := compare(name, got, k.c.Read(c), tol)
	if err := k.g.Err(); err != nil && r.Problem == nil {
		r.Problem = err
	}
	k.res = append(k.res, r)
}

// scalar records the comparison of two numbers.
func (k *checker) scalar(name string, got, want, tol float64) {
	r := CheckResult{Name: name, Tol: tol, Err: math.Abs(got-want) / max(math.Abs(want), 1e-30)}
	if got == want {
		r.Err = 0
	}
	if err := k.g.Err(); err != nil {
		r.Problem = err
	}
	if math.IsNaN(got) {
		r.Problem = errors.New("NaN")
	}
	k.res = append(k.res, r)
}

// CheckOps runs every op of e on fresh random inputs drawn from seed and
// compares each result with the CPU engine's. The products are compared
// with a bf16 tolerance when e computes them in bf16. A failed op leaves e
// in its error state (Err), and later results report it.
func CheckOps(e *Engine, seed uint64) []CheckResult {
	k := &checker{c: cpu.New(0), g: e, rng: rand.New(rand.NewPCG(seed, 0x63756461)), tolF32: 2e-5, tolGEMM: 2e-5, tolAttn: 1e-4}
	if e.Precision() == BF16 {
		// bf16 operands: ≈0.4% per rounded operand; the largest of many
		// outputs, measured against the RMS, can reach a few percent.
		k.tolGEMM = 6e-2
		// bf16 q, k, v, probabilities and dS: the forward pass is within about
		// 2-3% (max over RMS), dq up to about 7% — ds = p·(dp − D) loses
		// digits when dp is close to its row mean D. A wrong mask or index is
		// off by order 1.
		k.tolAttn = 1.2e-1
	}
	k.elementwise()
	k.norms()
	k.products()
	k.ropes()
	for _, ac := range attnCases {
		k.attention(ac)
	}
	k.routing()
	k.losses()
	k.optimizer()
	return k.res
}

func (k *checker) elementwise() {
	const n = 3001
	a, b := k.randn(n, 1), k.randn(n, 1)
	ca, ga := k.up(a)
	cb, gb := k.up(b)
	co, gout := k.c.Alloc(n), k.g.Alloc(n)
	k.c.Add(co, ca, cb, n)
	k.g.Add(gout, ga, gb, n)
	k.out("Add", co, gout, k.tolF32)
	k.c.SwiGLU(co, ca, cb, n)
	k.g.SwiGLU(gout, ga, gb, n)
	k.out("SwiGLU", co, gout, k.tolF32)
	dy := k.randn(n, 1)
	cdy, gdy := k.up(dy)
	cdg, gdg := k.c.Alloc(n), k.g.Alloc(n)
	cdu, gdu := k.c.Alloc(n), k.g.Alloc(n)
	k.c.SwiGLUBackward(cdg, cdu, cdy, ca, cb, n)
	k.g.SwiGLUBackward(gdg, gdu, gdy, ga, gb, n)
	k.out("SwiGLUBackward dgate", cdg, gdg, k.tolF32)
	k.out("SwiGLUBackward dup", cdu, gdu, k.tolF32)
	k.c.Scale(ca, n-1, 0.37)
	k.g.Scale(ga, n-1, 0.37)
	k.out("Scale (all but the last)", ca, ga, k.tolF32)
	k.scalar("SumSquares", k.g.SumSquares(gb, n), k.c.SumSquares(cb, n), 1e-6)
	big := k.randn(300_000, 0.5)
	cbig, gbig := k.up(big)
	k.scalar("SumSquares (300k values)", k.g.SumSquares(gbig, len(big)), k.c.SumSquares(cbig, len(big)), 1e-6)
	co, gout = k.up(k.randn(n, 1)) // identical contents: Copy and Zero write only part of them
	k.c.Copy(co, 7, ca, 100, 500)
	k.g.Copy(gout, 7, ga, 100, 500)
	k.out("Copy", co, gout, 0)
	k.c.Zero(co, 1000)
	k.g.Zero(gout, 1000)
	k.out("Zero (a prefix)", co, gout, 0)
	k.c.Zero(co, n)
	k.g.Zero(gout, n)
	k.c.Add(co, co, cb, n)
	k.g.Add(gout, gout, gb, n)
	k.out("Zero, then Add into it", co, gout, 0)
	k.out("Upload/Read round trip", cb, gb, 0)

	const rows, cols = 37, 130
	x := k.randn(rows*cols, 2)
	cx, gx := k.up(x)
	cy, gy := k.c.Alloc(rows*cols), k.g.Alloc(rows*cols)
	k.c.Softmax(cy, cx, rows, cols)
	k.g.Softmax(gy, gx, rows, cols)
	k.out("Softmax", cy, gy, k.tolF32)
	dys := k.randn(rows*cols, 1)
	cd, gd := k.up(dys)
	cdx, gdx := k.c.Alloc(rows*cols), k.g.Alloc(rows*cols)
	k.c.SoftmaxBackward(cdx, cd, cy, rows, cols)
	k.g.SoftmaxBackward(gdx, gd, gy, rows, cols)
	k.out("SoftmaxBackward", cdx, gdx, 1e-4)
}

func (k *checker) norms() {
	for _, sh := range []struct{ rows, dim int }{{45, 64}, {9, 768}, {130, 16}} {
		rows, dim := sh.rows, sh.dim
		n := rows * dim
		name := fmt.Sprintf("%d×%d", rows, dim)
		x, r := k.randn(n, 1.5), k.randn(n, 1)
		w := k.randn(dim, 1)
		cx, gx := k.up(x)
		cr, gr := k.up(r)
		cw, gw := k.up(w)
		co, gout := k.c.Alloc(n), k.g.Alloc(n)
		k.c.RMSNorm(co, cx, cw, rows, dim, 1e-5)
		k.g.RMSNorm(gout, gx, gw, rows, dim, 1e-5)
		k.out("RMSNorm "+name, co, gout, k.tolF32)
		// Add then RMSNorm of the sum: one fused kernel on the GPU.
		cs, gs := k.c.Alloc(n), k.g.Alloc(n)
		k.c.Add(cs, cx, cr, n)
		k.g.Add(gs, gx, gr, n)
		k.c.RMSNorm(co, cs, cw, rows, dim, 1e-6)
		k.g.RMSNorm(gout, gs, gw, rows, dim, 1e-6)
		k.out("Add+RMSNorm (fused) sum "+name, cs, gs, k.tolF32)
		k.out("Add+RMSNorm (fused) norm "+name, co, gout, k.tolF32)
		// Backward, then the same fused with the residual add.
		dy := k.randn(n, 1)
		cdy, gdy := k.up(dy)
		cdx, gdx := k.c.Alloc(n), k.g.Alloc(n)
		dw0 := k.randn(dim, 0.1)
		cdw, gdw := k.up(dw0)
		k.c.RMSNormBackward(cdx, cdw, cdy, cx, cw, rows, dim, 1e-5)
		k.g.RMSNormBackward(gdx, gdw, gdy, gx, gw, rows, dim, 1e-5)
		k.out("RMSNormBackward dx "+name, cdx, gdx, 1e-4)
		k.out("RMSNormBackward dw (+=) "+name, cdw, gdw, 1e-4)
		acc := k.randn(n, 1)
		cacc, gacc := k.up(acc)
		k.c.RMSNormBackward(cdx, cdw, cdy, cx, cw, rows, dim, 1e-5)
		k.g.RMSNormBackward(gdx, gdw, gdy, gx, gw, rows, dim, 1e-5)
		k.c.Add(cacc, cacc, cdx, n)
		k.g.Add(gacc, gacc, gdx, n)
		k.out("RMSNormBackward+Add (fused) acc "+name, cacc, gacc, 1e-4)
		k.out("RMSNormBackward+Add (fused) dx "+name, cdx, gdx, 1e-4)
		k.out("RMSNormBackward+Add (fused) dw "+name, cdw, gdw, 1e-4)
	}
}

func (k *checker) products() {
	for _, sh := range []struct{ n, kk, m int }{{70, 90, 100}, {64, 64, 64}, {33, 200, 17}, {5, 48, 6400}} {
		n, kk, m := sh.n, sh.kk, sh.m
		name := fmt.Sprintf("%d×%d×%d", n, kk, m)
		x, w := k.randn(n*kk, 1), k.randn(m*kk, 0.1)
		cx, gx := k.up(x)
		cw, gw := k.up(w)
		co, gout := k.c.Alloc(n*m), k.g.Alloc(n*m)
		k.c.MatMul(co, cx, cw, n, kk, m)
		k.g.MatMul(gout, gx, gw, n, kk, m)
		k.out("MatMul "+name, co, gout, k.tolGEMM)
		dout := k.randn(n*m, 1)
		cdo, gdo := k.up(dout)
		dx0, dw0 := k.randn(n*kk, 1), k.randn(m*kk, 1)
		cdx, gdx := k.up(dx0)
		cdw, gdw := k.up(dw0)
		k.c.MatMulBackward(cdx, cdw, cdo, cx, cw, n, kk, m, true)
		k.g.MatMulBackward(gdx, gdw, gdo, gx, gw, n, kk, m, true)
		k.out("MatMulBackward dx (+=) "+name, cdx, gdx, k.tolGEMM)
		k.out("MatMulBackward dw (+=) "+name, cdw, gdw, k.tolGEMM)
		k.c.Zero(cdw, m*kk)
		k.g.Zero(gdw, m*kk)
		k.c.MatMulBackward(cdx, cdw, cdo, cx, cw, n, kk, m, false)
		k.g.MatMulBackward(gdx, gdw, gdo, gx, gw, n, kk, m, false)
		k.out("MatMulBackward dx (=) "+name, cdx, gdx, k.tolGEMM)
		k.out("MatMulBackward dw (zeroed, +=) "+name, cdw, gdw, k.tolGEMM)
		k.c.MatMulBackward(nil, cdw, cdo, cx, cw, n, kk, m, false)
		k.g.MatMulBackward(nil, gdw, gdo, gx, gw, n, kk, m, false)
		k.out("MatMulBackward dw only "+name, cdw, gdw, k.tolGEMM)
	}
}

func (k *checker) ropes() {
	const ntok, heads, hd, maxPos = 23, 3, 64, 50
	c := model.Config{HeadDim: hd, RopeTheta: 1e6}
	cos, sin := c.RopeTables(maxPos)
	ccos, gcos := k.up(cos)
	csin, gsin := k.up(sin)
	pos := k.ints(ntok, maxPos)
	x := k.randn(ntok*heads*hd, 1)
	cx, gx := k.up(x)
	k.c.RoPE(cx, ccos, csin, pos, heads, hd)
	k.g.RoPE(gx, gcos, gsin, pos, heads, hd)
	k.out("RoPE", cx, gx, k.tolF32)
	k.c.RoPEBackward(cx, ccos, csin, pos, heads, hd)
	k.g.RoPEBackward(gx, gcos, gsin, pos, heads, hd)
	k.out("RoPEBackward", cx, gx, k.tolF32)
}

// attnCase is one attention configuration to check.
type attnCase struct {
	name             string
	B, T, H, KVH, hd int
	pos0, S          int // S = 0: T (no cache)
	docs, trace, bwd bool
	recompute        bool // backward without the saved forward results
}

var attnCases = []attnCase{
	{name: "hd16 GQA", B: 2, T: 40, H: 4, KVH: 2, hd: 16, bwd: true},
	{name: "hd64 MHA", B: 1, T: 33, H: 2, KVH: 2, hd: 64, bwd: true},
	{name: "hd80 one kv head", B: 1, T: 70, H: 4, KVH: 1, hd: 80, bwd: true},
	{name: "hd96 packed documents", B: 2, T: 37, H: 2, KVH: 1, hd: 96, docs: true, bwd: true},
	{name: "hd64 recomputed forward", B: 2, T: 35, H: 4, KVH: 2, hd: 64, bwd: true, recompute: true},
	{name: "hd16 KV cache (decode of 3)", B: 2, T: 3, H: 4, KVH: 2, hd: 16, pos0: 29, S: 40},
	{name: "hd16 trace", B: 1, T: 21, H: 2, KVH: 1, hd: 16, trace: true},
	{name: "hd32 trace with cache", B: 1, T: 5, H: 2, KVH: 2, hd: 32, pos0: 6, S: 16, trace: true},
}

func (k *checker) attention(ac attnCase) {
	S := ac.S
	if S == 0 {
		S = ac.T
	}
	a := model.AttnArgs{B: ac.B, T: ac.T, Heads: ac.H, KVHeads: ac.KVH, HeadDim: ac.hd, S: S, Pos0: ac.pos0,
		Scale: float32(1 / math.Sqrt(float64(ac.hd)))}
	if ac.docs {
		a.Docs = make([]int32, ac.B*ac.T)
		for b := range ac.B {
			doc := int32(0)
			for t := range ac.T {
				if t > 0 && k.rng.IntN(9) == 0 {
					doc++
				}
				a.Docs[b*ac.T+t] = doc
			}
		}
	}
	nq, nkv := ac.B*ac.T*ac.H*ac.hd, ac.B*S*ac.KVH*ac.hd
	cq, gq := k.up(k.randn(nq, 1))
	ck, gk := k.up(k.randn(nkv, 1))
	cv, gv := k.up(k.randn(nkv, 1))
	co, gout := k.c.Alloc(nq), k.g.Alloc(nq)
	ca, ga := a, a
	if ac.trace {
		nsp := ac.B * ac.H * ac.T * (ac.pos0 + ac.T)
		ca.Scores, ca.Probs = k.c.Alloc(nsp), k.c.Alloc(nsp)
		ga.Scores, ga.Probs = k.g.Alloc(nsp), k.g.Alloc(nsp)
	}
	k.c.Attention(co, cq, ck, cv, ca)
	k.g.Attention(gout, gq, gk, gv, ga)
	tol := k.tolAttn
	if ac.pos0 > 0 || ac.S > ac.T { // with a KV cache: the float32 kernels
		tol = 1e-4
	}
	k.out("Attention "+ac.name, co, gout, tol)
	if ac.trace {
		k.out("Attention scores "+ac.name, ca.Scores, ga.Scores, 1e-4)
		k.out("Attention probs "+ac.name, ca.Probs, ga.Probs, 1e-4)
	}
	if !ac.bwd {
		return
	}
	if ac.recompute {
		k.g.Scale(gq, 1, 1) // a write: the saved forward results are stale
	}
	cdo, gdo := k.up(k.randn(nq, 1))
	cdq, gdq := k.c.Alloc(nq), k.g.Alloc(nq)
	cdk, gdk := k.c.Alloc(nkv), k.g.Alloc(nkv)
	cdv, gdv := k.c.Alloc(nkv), k.g.Alloc(nkv)
	k.c.AttentionBackward(cdq, cdk, cdv, cdo, cq, ck, cv, a)
	k.g.AttentionBackward(gdq, gdk, gdv, gdo, gq, gk, gv, a)
	k.out("AttentionBackward dq "+ac.name, cdq, gdq, tol)
	k.out("AttentionBackward dk "+ac.name, cdk, gdk, tol)
	k.out("AttentionBackward dv "+ac.name, cdv, gdv, tol)
}

func (k *checker) routing() {
	const V, dim, n = 50, 48, 70
	table := k.randn(V*dim, 1)
	ct, gt := k.up(table)
	ids := k.ints(n, V) // with repeats
	co, gout := k.c.Alloc(n*dim), k.g.Alloc(n*dim)
	k.c.Embed(co, ct, ids, dim)
	k.g.Embed(gout, gt, ids, dim)
	k.out("Embed", co, gout, 0)
	k.c.Gather(co, ct, ids, dim)
	k.g.Gather(gout, gt, ids, dim)
	k.out("Gather", co, gout, 0)
	w := k.randn(n, 1)
	k.c.GatherScaled(co, ct, ids, w, dim)
	k.g.GatherScaled(gout, gt, ids, w, dim)
	k.out("GatherScaled", co, gout, k.tolF32)
	dout := k.randn(n*dim, 1)
	cdo, gdo := k.up(dout)
	k.c.EmbedBackward(ct, cdo, ids, dim)
	k.g.EmbedBackward(gt, gdo, ids, dim)
	k.out("EmbedBackward (repeated ids)", ct, gt, k.tolF32)
	k.c.ScatterAdd(ct, cdo, ids, w, dim)
	k.g.ScatterAdd(gt, gdo, ids, w, dim)
	k.out("ScatterAdd (repeated rows)", ct, gt, k.tolF32)
	k.scalarSlice("RowDot", k.g.RowDot(gt, gdo, ids, dim), k.c.RowDot(ct, cdo, ids, dim), k.tolF32*10)
}

func (k *checker) scalarSlice(name string, got, want []float32, tol float64) {
	r := compare(name, got, want, tol)
	if err := k.g.Err(); err != nil && r.Problem == nil {
		r.Problem = err
	}
	k.res = append(k.res, r)
}

func (k *checker) losses() {
	const rows, V = 13, 6400
	logits := k.randn(rows*V, 2)
	labels := k.ints(rows, V)
	labels[3], labels[9] = model.IgnoreIndex, model.IgnoreIndex
	cl, gl := k.up(logits)
	cd, gd := k.c.Alloc(rows*V), k.g.Alloc(rows*V)
	cs, cn := k.c.CrossEntropy(cd, cl, labels, rows, V, 0.25)
	gs, gn := k.g.CrossEntropy(gd, gl, labels, rows, V, 0.25)
	k.scalar("CrossEntropy loss", gs, cs, 1e-6)
	k.scalar("CrossEntropy count", float64(gn), float64(cn), 0)
	k.out("CrossEntropy dlogits", cd, gd, k.tolF32)
	// In place, as the model calls it.
	cs, _ = k.c.CrossEntropy(cl, cl, labels, rows, V, 1)
	gs, _ = k.g.CrossEntropy(gl, gl, labels, rows, V, 1)
	k.scalar("CrossEntropy loss (in place)", gs, cs, 1e-6)
	k.out("CrossEntropy dlogits (in place)", cl, gl, k.tolF32)
}

func (k *checker) optimizer() {
	const n = 2500
	p, g := k.randn(n, 0.02), k.randn(n, 1e-3)
	m0, v0 := k.randn(n, 1e-4), make([]float32, n)
	for i := range v0 {
		v0[i] = float32(k.rng.Float64() * 1e-6)
	}
	cp, gp := k.up(p)
	cg, gg := k.up(g)
	cm, gm := k.up(m0)
	cv, gv := k.up(v0)
	// p is also a 50×50 weight: the product before the update makes its bf16
	// copy, which AdamW then refreshes in the same kernel.
	const rows, dim = 7, 50
	cx, gx := k.up(k.randn(rows*dim, 1))
	co, gout := k.c.Alloc(rows*dim), k.g.Alloc(rows*dim)
	k.c.MatMul(co, cx, cp, rows, dim, dim)
	k.g.MatMul(gout, gx, gp, rows, dim, dim)
	for step := 1; step <= 3; step++ {
		s := model.AdamWStep{LR: 5e-2, Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01, Step: step}
		k.c.AdamW(cp, cg, cm, cv, n, s)
		k.g.AdamW(gp, gg, gm, gv, n, s)
	}
	k.out("AdamW p", cp, gp, 1e-5)
	k.out("AdamW m", cm, gm, 1e-5)
	k.out("AdamW v", cv, gv, 1e-5)
	k.c.MatMul(co, cx, cp, rows, dim, dim)
	k.g.MatMul(gout, gx, gp, rows, dim, dim)
	k.out("MatMul after AdamW (its bf16 copy)", co, gout, k.tolGEMM)
}

// TrainConfig describes a short training run, for checks and benchmarks.
type TrainConfig struct {
	Model  model.Config
	B, T   int     // micro-batch shape
	Steps  int     // optimizer steps, one micro-batch each
	Seed   uint64  // weights and data
	LR     float64 // peak learning rate of MiniMind's cosine schedule
	Packed bool    // rows hold several documents (positions restart, attention stays inside)
	Repeat bool    // every step trains on the batch of step 1 (so the loss must fall)
	// OnStep, when set, is called after each optimizer step (benchmarks
	// wait for the device there).
	OnStep func(step int)
}

// TrainResult reports a training run.
type TrainResult struct {
	Loss, GradNorm []float64 // per step
	WeightHash     uint64    // FNV-1a of the final weights' bits (determinism)
}

// Batch returns the micro-batch of step s of cfg: random tokens (ids ≥ 3),
// labels equal to the inputs except a padded tail of row 0 (label -100),
// and with cfg.Packed documents of random lengths.
func (cfg TrainConfig) Batch(s int) model.Batch {
	if cfg.Repeat {
		s = 1
	}
	rng := rand.New(rand.NewPCG(cfg.Seed, uint64(s)+1))
	B, T, V := cfg.B, cfg.T, cfg.Model.Vocab
	b := model.Batch{B: B, T: T, Input: make([]int32, B*T), Labels: make([]int32, B*T)}
	for i := range b.Input {
		b.Input[i] = int32(3 + rng.IntN(V-3))
		b.Labels[i] = b.Input[i]
	}
	for t := T - T/5; t < T; t++ {
		b.Input[t], b.Labels[t] = cfg.Model.PAD, model.IgnoreIndex
	}
	if cfg.Packed {
		b.Positions, b.Docs = make([]int32, B*T), make([]int32, B*T)
		for r := range B {
			doc, p := int32(0), int32(0)
			for t := range T {
				if t > 0 && rng.IntN(T/3+1) == 0 {
					doc, p = doc+1, 0
				}
				b.Docs[r*T+t], b.Positions[r*T+t] = doc, p
				p++
			}
		}
	}
	return b
}

// Train runs cfg on engine e from freshly initialised weights, the way the
// trainer does (native.Trainer): loss and gradients, the global gradient
// norm, clipping at 1.0, AdamW (β 0.9/0.999, eps 1e-8, weight decay 0.01)
// with MiniMind's cosine schedule, zeroed gradients. The same cfg gives the
// same batches and initial weights on every engine.
func Train(e model.TrainEngine, cfg TrainConfig) (TrainResult, error) {
	var res TrainResult
	m, err := model.New(cfg.Model, e, model.InitWeights(cfg.Model, cfg.Seed))
	if err != nil {
		return res, err
	}
	g := m.NewGrads()
	params, grads := cfg.Model.Params(m.W), cfg.Model.Params(g)
	mom, vel := make([]model.Tensor, len(params)), make([]model.Tensor, len(params))
	for i, p := range params {
		mom[i], vel[i] = e.Alloc(p.Size()), e.Alloc(p.Size())
	}
	for s := 1; s <= cfg.Steps; s++ {
		info, err := m.LossAndGrad(cfg.Batch(s), g, 1)
		if err != nil {
			return res, fmt.Errorf("step %d: %w", s, err)
		}
		var ss float64
		for i, p := range grads {
			ss += e.SumSquares(*p.Ptr, params[i].Size())
		}
		norm := math.Sqrt(ss)
		if coef := 1 / (norm + 1e-6); coef < 1 {
			for i, p := range grads {
				e.Scale(*p.Ptr, params[i].Size(), float32(coef))
			}
		}
		lr := cfg.LR * (0.1 + 0.45*(1+math.Cos(math.Pi*float64(s)/float64(cfg.Steps))))
		st := model.AdamWStep{LR: float32(lr), Beta1: 0.9, Beta2: 0.999, Eps: 1e-8, WeightDecay: 0.01, Step: s}
		for i, p := range params {
			e.AdamW(*p.Ptr, *grads[i].Ptr, mom[i], vel[i], p.Size(), st)
			e.Zero(*grads[i].Ptr, p.Size())
		}
		res.Loss = append(res.Loss, info.Loss)
		res.GradNorm = append(res.GradNorm, norm)
		if cfg.OnStep != nil {
			cfg.OnStep(s)
		}
		if ce, ok := e.(*Engine); ok && ce.Err() != nil {
			return res, fmt.Errorf("step %d: %w", s, ce.Err())
		}
	}
	h := uint64(14695981039346656037)
	for _, p := range params {
		for _, v := range e.Read(*p.Ptr) {
			h = (h ^ uint64(math.Float32bits(v))) * 1099511628211
		}
	}
	res.WeightHash = h
	if ce, ok := e.(*Engine); ok && ce.Err() != nil {
		return res, ce.Err()
	}
	return res, nil
}
