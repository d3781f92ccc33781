package webgpu

import (
	"fmt"
	"math"
	"sort"
	"testing"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/cpu"
)

// twin holds the same tensor on the CPU engine (the reference) and on the
// WebGPU engine.
type twin struct{ c, g model.Tensor }

type twins struct {
	t  *testing.T
	ce *cpu.Engine
	ge *Engine
}

func (w twins) up(data []float32) twin { return twin{w.ce.Upload(data), w.ge.Upload(data)} }
func (w twins) alloc(n int) twin       { return twin{w.ce.Alloc(n), w.ge.Alloc(n)} }

// check compares the two copies of x.
func (w twins) check(what string, x twin) {
	w.t.Helper()
	got, want := w.ge.Read(x.g), w.ce.Read(x.c)
	if err := w.ge.Err(); err != nil {
		w.t.Fatalf("%s: %v", what, err)
	}
	if r := relErr(got, want); r > tol {
		w.t.Errorf("%s: relative error %.3g > %g", what, r, tol)
	}
}

func TestOps(t *testing.T) {
	ge := openTest(t, Options{})
	w := twins{t: t, ce: cpu.New(2), ge: ge}
	r := testRand(t)

	t.Run("MatMul", func(t *testing.T) {
		w := w
		w.t = t
		defer func(v bool) { ge.regMatmul = v }(ge.regMatmul)
		// n ≤ 4 with k % 4 = 0 takes the matrix-vector shader, the rest the
		// workgroup-memory tiling or (k % 4 = 0) the register-blocked one.
		for _, reg := range []bool{false, true} {
			ge.regMatmul = reg
			for _, s := range [][3]int{{1, 64, 64}, {1, 512, 6400}, {2, 512, 1408}, {4, 1408, 512}, {3, 100, 37},
				{5, 64, 70}, {7, 512, 512}, {64, 64, 64}, {65, 132, 67}, {65, 130, 67}, {130, 96, 200}, {2, 6, 3}, {1, 3, 5}} {
				n, k, m := s[0], s[1], s[2]
				x, wt, o := w.up(randVec(r, n*k, 1)), w.up(randVec(r, m*k, 0.1)), w.alloc(n*m)
				w.ce.MatMul(o.c, x.c, wt.c, n, k, m)
				w.ge.MatMul(o.g, x.g, wt.g, n, k, m)
				w.check(fmt.Sprintf("MatMul reg=%v n=%d k=%d m=%d", reg, n, k, m), o)
			}
		}
	})
	t.Run("RMSNorm", func(t *testing.T) {
		w := w
		w.t = t
		for _, s := range [][2]int{{1, 64}, {7, 512}, {13, 100}, {33, 96}, {200, 16}} {
			rows, dim := s[0], s[1]
			x, wt, o := w.up(randVec(r, rows*dim, 3)), w.up(randVec(r, dim, 1)), w.alloc(rows*dim)
			w.ce.RMSNorm(o.c, x.c, wt.c, rows, dim, 1e-5)
			w.ge.RMSNorm(o.g, x.g, wt.g, rows, dim, 1e-5)
			w.check(fmt.Sprintf("RMSNorm rows=%d dim=%d", rows, dim), o)
		}
	})
	t.Run("RoPE", func(t *testing.T) {
		w := w
		w.t = t
		c, _ := model.Preset("minimind2-small")
		cosH, sinH := c.RopeTables(512)
		cosT, sinT := w.up(cosH), w.up(sinH)
		for _, s := range [][2]int{{1, 8}, {7, 2}, {300, 8}} {
			n, heads := s[0], s[1]
			pos := make([]int32, n)
			for i := range pos {
				pos[i] = int32(r.IntN(512))
			}
			x := w.up(randVec(r, n*heads*c.HeadDim, 1))
			w.ce.RoPE(x.c, cosT.c, sinT.c, pos, heads, c.HeadDim)
			w.ge.RoPE(x.g, cosT.g, sinT.g, pos, heads, c.HeadDim)
			w.check(fmt.Sprintf("RoPE tokens=%d heads=%d", n, heads), x)
		}
	})
	t.Run("Attention", func(t *testing.T) {
		w := w
		w.t = t
		cases := []struct {
			name                     string
			B, T, H, KVH, hd, S, pos int
			docs, trace              bool
		}{
			{"prefill", 1, 7, 4, 2, 16, 7, 0, false, true},
			{"prefill batch", 2, 5, 4, 2, 16, 5, 0, false, true},
			{"prefill long", 1, 150, 8, 2, 64, 150, 0, false, false},
			{"prefill long traced", 1, 70, 8, 2, 64, 70, 0, false, true},
			{"prefill cached", 2, 3, 8, 4, 96, 20, 9, false, true},
			{"docs", 2, 9, 4, 2, 16, 9, 0, true, true},
			{"docs long", 1, 140, 4, 1, 32, 140, 0, true, false},
			{"decode first", 1, 1, 8, 2, 64, 16, 0, false, true},
			{"decode", 1, 1, 8, 2, 64, 200, 130, false, false},
			{"decode traced", 1, 1, 8, 2, 64, 200, 77, false, true},
			{"decode batch", 3, 1, 8, 4, 96, 50, 40, false, true},
			{"decode mha", 1, 1, 4, 4, 16, 10, 5, false, true},
			{"decode G=16 falls back", 1, 1, 16, 1, 16, 30, 20, false, true},
		}
		defer func(v uint64) { ge.attnScratch = v }(ge.attnScratch)
		for _, kernel := range []string{"grouped", "online"} {
			// The grouped kernel (attention_decode.wgsl) serves untraced calls whose
			// scratch fits; without scratch they go to attention.wgsl.
			ge.attnScratch = groupedScratchBytes
			if kernel == "online" {
				ge.attnScratch = 0
			}
			for _, tc := range cases {
				tc.name = kernel + " " + tc.name
				B, T, H, KVH, hd, S := tc.B, tc.T, tc.H, tc.KVH, tc.hd, tc.S
				q := w.up(randVec(r, B*T*H*hd, 1))
				k := w.up(randVec(r, B*S*KVH*hd, 1))
				v := w.up(randVec(r, B*S*KVH*hd, 1))
				o := w.alloc(B * T * H * hd)
				a := model.AttnArgs{B: B, T: T, Heads: H, KVHeads: KVH, HeadDim: hd, S: S, Pos0: tc.pos,
					Scale: float32(1 / math.Sqrt(float64(hd)))}
				if tc.docs {
					a.Docs = make([]int32, B*T)
					for b := range B {
						doc := int32(0)
						for t := range T {
							if t > 0 && r.IntN(4) == 0 {
								doc++
							}
							a.Docs[b*T+t] = doc
						}
					}
				}
				var sc, pr twin
				width := tc.pos + T
				ac, ag := a, a
				if tc.trace {
					sc, pr = w.alloc(B*H*T*width), w.alloc(B*H*T*width)
					ac.Scores, ac.Probs = sc.c, pr.c
					ag.Scores, ag.Probs = sc.g, pr.g
				}
				w.ce.Attention(o.c, q.c, k.c, v.c, ac)
				w.ge.Attention(o.g, q.g, k.g, v.g, ag)
				w.check("Attention "+tc.name, o)
				if tc.trace {
					w.check("Attention scores "+tc.name, sc)
					w.check("Attention probs "+tc.name, pr)
				}
			}
		}
	})
	t.Run("Elementwise", func(t *testing.T) {
		w := w
		w.t = t
		for _, n := range []int{1, 255, 257, 1408 * 3, 100000} {
			a, b := w.up(randVec(r, n, 4)), w.up(randVec(r, n, 2))
			o := w.alloc(n)
			w.ce.SwiGLU(o.c, a.c, b.c, n)
			w.ge.SwiGLU(o.g, a.g, b.g, n)
			w.check(fmt.Sprintf("SwiGLU n=%d", n), o)
			w.ce.Add(o.c, a.c, b.c, n)
			w.ge.Add(o.g, a.g, b.g, n)
			w.check(fmt.Sprintf("Add n=%d", n), o)
			// out aliases an input.
			w.ce.Add(o.c, o.c, a.c, n)
			w.ge.Add(o.g, o.g, a.g, n)
			w.check(fmt.Sprintf("Add in place n=%d", n), o)
			w.ce.Add(a.c, a.c, a.c, n)
			w.ge.Add(a.g, a.g, a.g, n)
			w.check(fmt.Sprintf("Add a+a in place n=%d", n), a)
		}
		// Extreme gates: silu must not overflow to NaN.
		g := w.up([]float32{-1000, -100, -88, -10, 0, 10, 88, 100, 1000})
		u := w.up([]float32{1, 1, 1, 1, 1, 1, 1, 1, 1})
		o := w.alloc(9)
		w.ce.SwiGLU(o.c, g.c, u.c, 9)
		w.ge.SwiGLU(o.g, g.g, u.g, 9)
		w.check("SwiGLU extremes", o)
	})
	t.Run("Softmax", func(t *testing.T) {
		w := w
		w.t = t
		for _, s := range [][2]int{{1, 4}, {7, 4}, {300, 8}, {3, 100}, {2, 6400}} {
			rows, cols := s[0], s[1]
			x, o := w.up(randVec(r, rows*cols, 5)), w.alloc(rows*cols)
			w.ce.Softmax(o.c, x.c, rows, cols)
			w.ge.Softmax(o.g, x.g, rows, cols)
			w.check(fmt.Sprintf("Softmax rows=%d cols=%d", rows, cols), o)
		}
	})
	t.Run("EmbedGatherScatter", func(t *testing.T) {
		w := w
		w.t = t
		const V, D = 300, 96
		table := w.up(randVec(r, V*D, 1))
		for _, n := range []int{1, 7, 200} {
			ids := make([]int32, n)
			for i := range ids {
				ids[i] = int32(r.IntN(V))
			}
			o := w.alloc(n * D)
			w.ce.Embed(o.c, table.c, ids, D)
			w.ge.Embed(o.g, table.g, ids, D)
			w.check(fmt.Sprintf("Embed n=%d", n), o)

			w.ce.Gather(o.c, table.c, ids, D)
			w.ge.Gather(o.g, table.g, ids, D)
			w.check(fmt.Sprintf("Gather n=%d", n), o)

			// Distinct rows (the MoE case) and repeated rows.
			perm := r.Perm(V)[:n]
			for _, rows := range [][]int32{toI32(perm), ids} {
				wts := randVec(r, n, 1)
				acc := w.up(randVec(r, V*D, 1))
				w.ce.ScatterAdd(acc.c, o.c, rows, wts, D)
				w.ge.ScatterAdd(acc.g, o.g, rows, wts, D)
				w.check(fmt.Sprintf("ScatterAdd n=%d", n), acc)
			}
		}
	})
	t.Run("Copy", func(t *testing.T) {
		w := w
		w.t = t
		src := w.up(randVec(r, 1000, 1))
		dst := w.alloc(1500)
		for _, c := range [][3]int{{0, 0, 1000}, {700, 3, 500}, {1, 999, 1}} {
			w.ce.Copy(dst.c, c[0], src.c, c[1], c[2])
			w.ge.Copy(dst.g, c[0], src.g, c[1], c[2])
			w.check(fmt.Sprintf("Copy dst[%d:] src[%d:] n=%d", c[0], c[1], c[2]), dst)
		}
		// Overlapping ranges of one tensor behave as Go's copy.
		w.ce.Copy(src.c, 10, src.c, 0, 900)
		w.ge.Copy(src.g, 10, src.g, 0, 900)
		w.check("Copy overlapping", src)
	})
	t.Run("Alloc zero-filled after reuse", func(t *testing.T) {
		for range 3 {
			x := ge.Upload(randVec(r, 4096, 1))
			y := ge.Alloc(4096)
			ge.Add(y, x, x, 4096)
			ge.Free(y)
			z := ge.Alloc(4096) // reuses y's buffer
			ge.ScatterAdd(z, x, []int32{5}, []float32{1}, 16)
			got := ge.Read(z)
			for i, v := range got {
				want := float32(0)
				if i >= 80 && i < 96 {
					want = ge.Read(x)[i-80]
				}
				if v != want {
					t.Fatalf("reused tensor [%d] = %v, want %v", i, v, want)
				}
			}
			ge.Free(z)
			ge.Free(x)
		}
	})
}

func toI32(v []int) []int32 {
	out := make([]int32, len(v))
	for i, x := range v {
		out[i] = int32(x)
	}
	return out
}

func TestSampling(t *testing.T) {
	e := openTest(t, Options{})
	r := testRand(t)
	for _, s := range [][3]int{{1, 6400, 1}, {1, 6400, 50}, {3, 1000, 20}, {2, 7, 7}, {1, 300, 256}} {
		rows, cols, k := s[0], s[1], s[2]
		x := randVec(r, rows*cols, 3)
		// Ties and NaN: the lower index wins, NaN never does.
		x[cols/2] = 100
		x[cols/3] = 100
		x[cols-1] = float32(math.NaN())
		xt := e.Upload(x)
		ids, err := e.Argmax(xt, rows, cols)
		if err != nil {
			t.Fatal(err)
		}
		tk, tv, err := e.TopK(xt, rows, cols, k)
		if err != nil {
			t.Fatal(err)
		}
		for row := range rows {
			xr := x[row*cols : (row+1)*cols]
			order := make([]int, 0, cols)
			for i, v := range xr {
				if !math.IsNaN(float64(v)) {
					order = append(order, i)
				}
			}
			sort.SliceStable(order, func(a, b int) bool { return xr[order[a]] > xr[order[b]] })
			if int(ids[row]) != order[0] {
				t.Errorf("Argmax [%d×%d] row %d = %d, want %d", rows, cols, row, ids[row], order[0])
			}
			for j := range min(k, len(order)) {
				if int(tk[row*k+j]) != order[j] || tv[row*k+j] != xr[order[j]] {
					t.Errorf("TopK [%d×%d] k=%d row %d rank %d = (%d, %v), want (%d, %v)",
						rows, cols, k, row, j, tk[row*k+j], tv[row*k+j], order[j], xr[order[j]])
					break
				}
			}
		}
		e.Free(xt)
	}
}
