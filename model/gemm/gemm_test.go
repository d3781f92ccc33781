package gemm

import (
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// op names the three products.
type op int

const (
	opNT op = iota
	opNN
	opTN
)

func (o op) String() string { return [...]string{"NT", "NN", "TN"}[o] }

// shapes of the stored operands: a is [ar, lda], b is [br, ldb].
func (o op) dims(m, n, k int) (ar, ac, br, bc int) {
	switch o {
	case opNT:
		return m, k, n, k
	case opNN:
		return m, k, k, n
	default:
		return k, m, k, n
	}
}

// at returns A(i,p) and B(p,j) of the logical product.
func (o op) aAt(a []float32, lda, i, p int) float64 {
	if o == opTN {
		return float64(a[p*lda+i])
	}
	return float64(a[i*lda+p])
}

func (o op) bAt(b []float32, ldb, p, j int) float64 {
	if o == opNT {
		return float64(b[j*ldb+p])
	}
	return float64(b[p*ldb+j])
}

// randMat returns rows×ld random values in [-1, 1), none of them zero.
func randMat(rng *rand.Rand, rows, ld int) []float32 {
	s := make([]float32, max(rows*ld, 1))
	for i := range s {
		v := rng.Float32()*2 - 1
		if v == 0 {
			v = 0.5
		}
		s[i] = v
	}
	return s
}

// reference computes the expected out buffer in float64 with a naive triple
// loop; elements outside the [m, n] view keep their old value. bound holds,
// per element, the worst-case rounding error of a float32 evaluation
// (k+1)·2⁻²⁴·(Σ_p |A(i,p)·B(p,j)| + |old|), used where cancellation makes
// the result much smaller than its terms.
func reference(o op, out []float32, ldo int, a []float32, lda int, b []float32, ldb int, m, n, k int, acc bool) []float64 {
	want, _ := referenceBound(o, out, ldo, a, lda, b, ldb, m, n, k, acc)
	return want
}

func referenceBound(o op, out []float32, ldo int, a []float32, lda int, b []float32, ldb int, m, n, k int, acc bool) (want, bound []float64) {
	want = make([]float64, len(out))
	bound = make([]float64, len(out))
	for i, v := range out {
		want[i] = float64(v)
	}
	for i := 0; i < m; i++ {
		for j := 0; j < n; j++ {
			var s, abs float64
			for p := 0; p < k; p++ {
				t := o.aAt(a, lda, i, p) * o.bAt(b, ldb, p, j)
				s += t
				abs += math.Abs(t)
			}
			if acc {
				abs += math.Abs(want[i*ldo+j])
				want[i*ldo+j] += s
			} else {
				want[i*ldo+j] = s
			}
			bound[i*ldo+j] = float64(k+1) * 0x1p-24 * abs
		}
	}
	return want, bound
}

// compare fails t unless got matches want to 1e-5 of the largest |want|.
// An element within its rounding bound (if given) also passes: a sum that
// cancels to almost nothing cannot be held to a tolerance relative to
// itself.
func compare(t *testing.T, got []float32, want []float64, bound ...[]float64) {
	t.Helper()
	var scale float64
	for _, v := range want {
		scale = max(scale, math.Abs(v))
	}
	tol := 1e-5 * max(scale, 1e-30)
	bad := 0
	for i := range want {
		d := math.Abs(float64(got[i]) - want[i])
		if d <= tol || (len(bound) > 0 && d <= bound[0][i]) {
			continue
		}
		if bad < 5 {
			t.Errorf("element %d: got %g, want %g (|diff| %g > tol %g)", i, got[i], want[i], d, tol)
		}
		bad++
	}
	if bad > 0 {
		t.Fatalf("%d of %d elements wrong", bad, len(want))
	}
}

// call runs one product through the public API or a given implementation.
func call(o op, kern *kernels, out []float32, ldo int, a []float32, lda int, b []float32, ldb int, m, n, k int, acc bool, threads int) {
	if kern == nil {
		switch o {
		case opNT:
			NTStrided(out, ldo, a, lda, b, ldb, m, n, k, acc, threads)
		case opNN:
			NNStrided(out, ldo, a, lda, b, ldb, m, n, k, acc, threads)
		default:
			TNStrided(out, ldo, a, lda, b, ldb, m, n, k, acc, threads)
		}
		return
	}
	p := problem{out: out, ldo: ldo, a: a, lda: lda, b: b, ldb: ldb, m: m, n: n, k: k,
		aT: o == opTN, bT: o == opNT, acc: acc}
	p.check(o.String())
	run(&p, kern, threads, 0) // split even small products, to test the splitting
}

type shape struct{ m, n, k int }

func testShapes() []shape {
	dims := []int{1, 2, 3, 7, 17, 33}
	var s []shape
	for _, m := range dims {
		for _, n := range dims {
			for _, k := range dims {
				s = append(s, shape{m, n, k})
			}
		}
	}
	// Blocking edges: k over one k block, m over one m block, n over one n
	// block, and the model's sizes.
	s = append(s,
		shape{6, 16, 8}, shape{12, 32, 256}, shape{64, 128, 512},
		shape{5, 40, 257}, shape{151, 19, 300}, shape{145, 33, 65},
		shape{3, 2051, 9}, shape{13, 2100, 21}, shape{150, 2060, 9}, shape{1, 1408, 512},
		shape{2, 515, 513}, shape{1, 67, 1409}, shape{0, 5, 5}, shape{5, 0, 5}, shape{4, 5, 0},
	)
	return s
}

func TestProducts(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for _, kern := range append([]*kernels{nil}, testKernels()...) {
		name := "public"
		if kern != nil {
			name = kern.name
		}
		t.Run(name, func(t *testing.T) {
			for _, o := range []op{opNT, opNN, opTN} {
				for _, sh := range testShapes() {
					for _, acc := range []bool{false, true} {
						for _, pad := range []int{0, 3} {
							threads := 1 + (sh.m+sh.n+sh.k+pad)%3
							m, n, k := sh.m, sh.n, sh.k
							tn := fmt.Sprintf("%v/m%d_n%d_k%d/acc=%v/pad%d/t%d", o, m, n, k, acc, pad, threads)
							ar, ac, br, bc := o.dims(m, n, k)
							lda, ldb, ldo := ac+pad, bc+2*pad, n+pad
							a := randMat(rng, ar, lda)
							b := randMat(rng, br, ldb)
							out := randMat(rng, m, ldo)
							want, bound := referenceBound(o, out, ldo, a, lda, b, ldb, m, n, k, acc)
							call(o, kern, out, ldo, a, lda, b, ldb, m, n, k, acc, threads)
							t.Run(tn, func(t *testing.T) { compare(t, out, want, bound) })
						}
					}
				}
			}
		})
	}
}

// TestImplementationsAgree runs the model's shapes through every
// implementation and through the float64 reference.
func TestImplementationsAgree(t *testing.T) {
	shapes := []shape{{64, 512, 512}, {64, 128, 512}, {37, 1408, 512}, {64, 512, 1408}, {9, 6400, 64}, {1, 6400, 512}}
	if testing.Short() {
		shapes = shapes[:2]
	}
	rng := rand.New(rand.NewPCG(3, 4))
	for _, o := range []op{opNT, opNN, opTN} {
		for _, sh := range shapes {
			t.Run(fmt.Sprintf("%v/m%d_n%d_k%d", o, sh.m, sh.n, sh.k), func(t *testing.T) {
				ar, ac, br, bc := o.dims(sh.m, sh.n, sh.k)
				a := randMat(rng, ar, ac)
				b := randMat(rng, br, bc)
				out0 := randMat(rng, sh.m, sh.n)
				want := reference(o, out0, sh.n, a, ac, b, bc, sh.m, sh.n, sh.k, true)
				for _, kern := range testKernels() {
					for _, threads := range []int{1, 2} {
						out := append([]float32(nil), out0...)
						call(o, kern, out, sh.n, a, ac, b, bc, sh.m, sh.n, sh.k, true, threads)
						compare(t, out, want)
					}
				}
			})
		}
	}
}

// TestThreadsDeterministic checks that the result does not depend on the
// number of threads, bit for bit.
func TestThreadsDeterministic(t *testing.T) {
	rng := rand.New(rand.NewPCG(13, 14))
	for _, kern := range testKernels() {
		for _, o := range []op{opNT, opNN, opTN} {
			for _, sh := range []shape{{7, 1, 9400}, {200, 3, 300}, {3, 700, 64}, {1, 300, 300}, {150, 40, 520}, {1, 2100, 500}, {1, 1100, 512}} {
				ar, ac, br, bc := o.dims(sh.m, sh.n, sh.k)
				a := randMat(rng, ar, ac)
				b := randMat(rng, br, bc)
				out0 := randMat(rng, sh.m, sh.n)
				var first []float32
				for _, threads := range []int{1, 2, 3, 5} {
					out := append([]float32(nil), out0...)
					call(o, kern, out, sh.n, a, ac, b, bc, sh.m, sh.n, sh.k, true, threads)
					if first == nil {
						first = out
						continue
					}
					for i := range out {
						if math.Float32bits(out[i]) != math.Float32bits(first[i]) {
							t.Fatalf("%s/%v/%v: threads=%d gives %g at %d, threads=1 gives %g",
								kern.name, o, sh, threads, out[i], i, first[i])
						}
					}
				}
			}
		}
	}
}

// TestOverwrite checks that acc=false ignores the old output, NaN included.
func TestOverwrite(t *testing.T) {
	rng := rand.New(rand.NewPCG(5, 6))
	for _, kern := range testKernels() {
		for _, o := range []op{opNT, opNN, opTN} {
			for _, sh := range []shape{{1, 9, 17}, {7, 33, 300}, {13, 21, 0}} {
				ar, ac, br, bc := o.dims(sh.m, sh.n, sh.k)
				a := randMat(rng, ar, ac)
				b := randMat(rng, br, bc)
				out := make([]float32, sh.m*sh.n)
				for i := range out {
					out[i] = float32(math.NaN())
				}
				want, bound := referenceBound(o, make([]float32, len(out)), sh.n, a, ac, b, bc, sh.m, sh.n, sh.k, false)
				call(o, kern, out, sh.n, a, ac, b, bc, sh.m, sh.n, sh.k, false, 2)
				t.Run(fmt.Sprintf("%s/%v/%v", kern.name, o, sh), func(t *testing.T) { compare(t, out, want, bound) })
			}
		}
	}
}

// TestAttentionViews runs per-head products on [T, H, D] buffers as the
// attention code does: scores = Q_h·K_hᵀ (NT) and context = P·V_h (NN).
func TestAttentionViews(t *testing.T) {
	const T, H, D = 37, 4, 64
	rng := rand.New(rand.NewPCG(7, 8))
	q := randMat(rng, T, H*D)
	kv := randMat(rng, T, H*D)
	for h := 0; h < H; h++ {
		scores := make([]float32, T*T)
		NTStrided(scores, T, q[h*D:], H*D, kv[h*D:], H*D, T, T, D, false, 2)
		want := reference(opNT, make([]float32, T*T), T, q[h*D:], H*D, kv[h*D:], H*D, T, T, D, false)
		compare(t, scores, want)

		ctx := randMat(rng, T, H*D)
		wantCtx := reference(opNN, ctx[h*D:], H*D, scores, T, kv[h*D:], H*D, T, D, T, false)
		NNStrided(ctx[h*D:], H*D, scores, T, kv[h*D:], H*D, T, D, T, false, 1)
		compare(t, ctx[h*D:], wantCtx)
	}
}

func TestVectorOps(t *testing.T) {
	rng := rand.New(rand.NewPCG(9, 10))
	for _, kern := range append([]*kernels{nil}, testKernels()...) {
		name := "public"
		dot, axpy, scale := Dot, Axpy, Scale
		if kern != nil {
			name, dot, axpy, scale = kern.name, kern.dot, kern.axpy, kern.scale
		}
		for _, n := range []int{0, 1, 3, 7, 8, 9, 15, 16, 31, 32, 33, 63, 64, 65, 127, 129, 1000} {
			t.Run(fmt.Sprintf("%s/n%d", name, n), func(t *testing.T) {
				x := randMat(rng, 1, n)[:n]
				y := randMat(rng, 1, n)[:n]
				var d, abs float64
				for i := range x {
					d += float64(x[i]) * float64(y[i])
					abs += math.Abs(float64(x[i]) * float64(y[i]))
				}
				compare(t, []float32{dot(x, y)}, []float64{d}, []float64{float64(n+1) * 0x1p-24 * abs})

				const alpha = 0.37
				want := make([]float64, n)
				bound := make([]float64, n)
				for i := range y {
					want[i] = float64(y[i]) + alpha*float64(x[i])
					bound[i] = 0x1p-23 * (math.Abs(float64(y[i])) + math.Abs(alpha*float64(x[i])))
				}
				axpy(alpha, x, y)
				compare(t, y, want, bound)

				for i := range y {
					want[i] = float64(y[i]) * -1.5
				}
				scale(-1.5, y)
				compare(t, y, want)
			})
		}
	}
}

func TestDot4(t *testing.T) {
	rng := rand.New(rand.NewPCG(11, 12))
	for _, kern := range testKernels() {
		for _, k := range []int{1, 7, 8, 15, 16, 17, 24, 31, 33, 512} {
			x := randMat(rng, 1, k)[:k]
			ldb := k + 5
			b := randMat(rng, 4, ldb)
			got := kern.dot4(x, b, ldb)
			want := make([]float64, 4)
			bound := make([]float64, 4)
			for r := range want {
				for i := range x {
					want[r] += float64(x[i]) * float64(b[r*ldb+i])
					bound[r] += float64(k+1) * 0x1p-24 * math.Abs(float64(x[i])*float64(b[r*ldb+i]))
				}
			}
			t.Run(fmt.Sprintf("%s/k%d", kern.name, k), func(t *testing.T) { compare(t, got[:], want, bound) })
		}
	}
}

// TestPanics checks that inconsistent sizes panic with a message naming the
// function and the operand.
func TestPanics(t *testing.T) {
	s := make([]float32, 100)
	cases := []struct {
		name string
		fn   func()
		msg  string
	}{
		{"short out", func() { NT(s[:5], s, s, 2, 3, 4, false, 1) }, "gemm.NTStrided: out has 5 elements, needs 6"},
		{"short a", func() { NN(s, s[:7], s, 2, 3, 4, false, 1) }, "gemm.NNStrided: a has 7 elements, needs 8"},
		{"short b", func() { TN(s, s, s[:11], 2, 3, 4, false, 1) }, "gemm.TNStrided: b has 11 elements, needs 12"},
		{"negative", func() { NT(s, s, s, -1, 3, 4, false, 1) }, "negative dimension"},
		{"small lda", func() { NTStrided(s, 3, s, 2, s, 4, 2, 3, 4, false, 1) }, "leading dimension of a is 2"},
		{"dot", func() { Dot(s[:3], s[:4]) }, "gemm.Dot: len(a)=3 != len(b)=4"},
		{"axpy", func() { Axpy(1, s[:3], s[:4]) }, "gemm.Axpy: len(x)=3 != len(y)=4"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			defer func() {
				r := recover()
				msg, _ := r.(string)
				if !strings.Contains(msg, c.msg) {
					t.Fatalf("panic %v, want one containing %q", r, c.msg)
				}
			}()
			c.fn()
		})
	}
}

func FuzzProducts(f *testing.F) {
	f.Add(uint8(0), uint8(3), uint8(5), uint8(7), uint8(1), true, uint8(2), uint64(1))
	f.Add(uint8(1), uint8(17), uint8(33), uint8(9), uint8(0), false, uint8(1), uint64(2))
	f.Add(uint8(2), uint8(1), uint8(40), uint8(70), uint8(2), true, uint8(3), uint64(3))
	f.Fuzz(func(t *testing.T, opb, mb, nb, kb, padb uint8, acc bool, tb uint8, seed uint64) {
		o := op(opb % 3)
		m, n, k, pad := int(mb%80), int(nb%80), int(kb), int(padb%4)
		threads := int(tb % 4)
		rng := rand.New(rand.NewPCG(seed, 99))
		ar, ac, br, bc := o.dims(m, n, k)
		lda, ldb, ldo := ac+pad, bc+pad, n+pad
		a := randMat(rng, ar, lda)
		b := randMat(rng, br, ldb)
		out0 := randMat(rng, m, ldo)
		want, bound := referenceBound(o, out0, ldo, a, lda, b, ldb, m, n, k, acc)
		for _, kern := range testKernels() {
			out := append([]float32(nil), out0...)
			call(o, kern, out, ldo, a, lda, b, ldb, m, n, k, acc, threads)
			compare(t, out, want, bound)
		}
	})
}

// goldenValues rebuilds the inputs of testdata/golden.py: multiples of
// 1/1024 below 1 in magnitude, exact in float32.
func goldenValues(count, seed int) []float32 {
	v := make([]float32, count)
	for i := range v {
		v[i] = float32(((i+seed)*7919)%2001-1000) / 1024
	}
	return v
}

// TestGolden compares the products with exact values computed by an
// independent Python program (testdata/golden.py).
func TestGolden(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("testdata", "golden.json"))
	if err != nil {
		t.Fatal(err)
	}
	var cases []struct {
		Op      string
		M, N, K int
		Seed    int
		Out     []float64
	}
	if err := json.Unmarshal(data, &cases); err != nil {
		t.Fatalf("testdata/golden.json: %v", err)
	}
	if len(cases) == 0 {
		t.Fatal("testdata/golden.json: no cases")
	}
	ops := map[string]op{"NT": opNT, "NN": opNN, "TN": opTN}
	for _, c := range cases {
		o, ok := ops[c.Op]
		if !ok || len(c.Out) != c.M*c.N {
			t.Fatalf("testdata/golden.json: bad case %s m=%d n=%d k=%d with %d outputs", c.Op, c.M, c.N, c.K, len(c.Out))
		}
		ar, ac, br, bc := o.dims(c.M, c.N, c.K)
		a := goldenValues(ar*ac, c.Seed)
		b := goldenValues(br*bc, c.Seed+1)
		for _, kern := range append([]*kernels{nil}, testKernels()...) {
			out := make([]float32, c.M*c.N)
			call(o, kern, out, c.N, a, ac, b, bc, c.M, c.N, c.K, false, 2)
			name := "public"
			if kern != nil {
				name = kern.name
			}
			t.Run(fmt.Sprintf("%s/%s/m%d_n%d_k%d", name, c.Op, c.M, c.N, c.K), func(t *testing.T) {
				compare(t, out, c.Out)
			})
		}
	}
}
