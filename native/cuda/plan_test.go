package cuda

import (
	"math/rand/v2"
	"slices"
	"testing"
)

func TestGridStride(t *testing.T) {
	cases := []struct {
		n            int64
		block, limit int
		want         uint32
	}{
		{0, 256, 100, 1},
		{1, 256, 100, 1},
		{256, 256, 100, 1},
		{257, 256, 100, 2},
		{1 << 30, 256, 4224, 4224},
	}
	for _, c := range cases {
		if g := gridStride(c.n, c.block, c.limit); g != (dim3{c.want, 1, 1}) {
			t.Errorf("gridStride(%d, %d, %d) = %v, want %d blocks", c.n, c.block, c.limit, g, c.want)
		}
	}
	if g := warpRows(17); g.X != 3 {
		t.Errorf("warpRows(17) = %v, want 3 blocks of 8 rows", g)
	}
	if g := gemmGrid(65, 6400); g != (dim3{100, 2, 1}) {
		t.Errorf("gemmGrid(65, 6400) = %v, want {100 2 1}", g)
	}
	if g := attnGrid(512, 8, 32); g != (dim3{16, 8, 32}) {
		t.Errorf("attnGrid(512, 8, 32) = %v", g)
	}
}

func TestAttnVariant(t *testing.T) {
	cases := []struct{ hd, want int }{{2, 16}, {16, 16}, {18, 32}, {64, 64}, {66, 80}, {80, 80}, {96, 96}, {100, 128}, {128, 128}, {130, 0}}
	for _, c := range cases {
		got, err := attnVariant(c.hd)
		if c.want == 0 {
			if err == nil {
				t.Errorf("attnVariant(%d) = %d, want an error", c.hd, got)
			}
			continue
		}
		if err != nil || got != c.want {
			t.Errorf("attnVariant(%d) = %d, %v; want %d", c.hd, got, err, c.want)
		}
	}
}

// rowMajorGemm is the engine kernels' definition (gemm.cu).
func rowMajorGemm(s gemmShape, a, b []float64) []float64 {
	c := make([]float64, s.M*s.LDC)
	for m := range s.M {
		for n := range s.N {
			var acc float64
			for k := range s.K {
				var av, bv float64
				if s.TransA {
					av = a[k*s.LDA+m]
				} else {
					av = a[m*s.LDA+k]
				}
				if s.TransB {
					bv = b[n*s.LDB+k]
				} else {
					bv = b[k*s.LDB+n]
				}
				acc += av * bv
			}
			c[m*s.LDC+n] = acc
		}
	}
	return c
}

// colMajorGemm is cuBLASLt's definition: D = op(X)·op(Y), column-major.
func colMajorGemm(t *testing.T, c ltCall, x, y []float64) []float64 {
	// op(X) must be M×K and op(Y) K×N.
	xr, xc := c.XRows, c.XCols
	if c.OpX {
		xr, xc = xc, xr
	}
	yr, yc := c.YRows, c.YCols
	if c.OpY {
		yr, yc = yc, yr
	}
	if xr != c.M || xc != c.K || yr != c.K || yc != c.N || c.DRows != c.M || c.DCols != c.N {
		t.Fatalf("inconsistent ltCall %+v", c)
	}
	if c.LDX < c.XRows || c.LDY < c.YRows || c.LDD < c.DRows {
		t.Fatalf("leading dimensions too small in %+v", c)
	}
	d := make([]float64, c.LDD*c.N)
	for i := range c.M {
		for j := range c.N {
			var acc float64
			for k := range c.K {
				var xv, yv float64
				if c.OpX {
					xv = x[k+i*c.LDX]
				} else {
					xv = x[i+k*c.LDX]
				}
				if c.OpY {
					yv = y[j+k*c.LDY]
				} else {
					yv = y[k+j*c.LDY]
				}
				acc += xv * yv
			}
			d[i+j*c.LDD] = acc
		}
	}
	return d
}

func TestLtPlan(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	// The engine's three products and their transposes, odd sizes.
	for _, s := range []gemmShape{
		{M: 5, N: 7, K: 3, LDA: 3, LDB: 3, LDC: 7, TransB: true}, // MatMul: x·wᵀ
		{M: 5, N: 3, K: 7, LDA: 7, LDB: 3, LDC: 3},               // dx = dout·w
		{M: 7, N: 3, K: 5, LDA: 7, LDB: 3, LDC: 3, TransA: true}, // dw = doutᵀ·x
		{M: 4, N: 6, K: 9, LDA: 4, LDB: 9, LDC: 6, TransA: true, TransB: true},
	} {
		aLen := s.M * s.LDA
		if s.TransA {
			aLen = s.K * s.LDA
		}
		bLen := s.K * s.LDB
		if s.TransB {
			bLen = s.N * s.LDB
		}
		a, b := make([]float64, aLen), make([]float64, bLen)
		for i := range a {
			a[i] = float64(rng.IntN(19) - 9)
		}
		for i := range b {
			b[i] = float64(rng.IntN(19) - 9)
		}
		want := rowMajorGemm(s, a, b)
		got := colMajorGemm(t, ltPlan(s), b, a) // X = B's buffer, Y = A's
		if !slices.Equal(got, want) {
			t.Errorf("shape %+v: the cuBLASLt call computes %v, want %v", s, got, want)
		}
	}
}

func TestCublasLtCandidates(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == cublasLtEnv {
				return v
			}
			return ""
		}
	}
	cases := []struct {
		explicit, env string
		want          []string
	}{
		{"", "", []string{"libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so.11"}},
		{"/opt/lt.so", "", []string{"/opt/lt.so", "libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so.11"}},
		{"/a.so", "/b.so", []string{"/a.so", "/b.so", "libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so.11"}},
		{"", "/b.so", []string{"/b.so", "libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so.11"}},
	}
	for _, c := range cases {
		if got := cublasLtCandidates(c.explicit, env(c.env)); !slices.Equal(got, c.want) {
			t.Errorf("cublasLtCandidates(%q) with %s=%q = %v, want %v", c.explicit, cublasLtEnv, c.env, got, c.want)
		}
	}
}

func TestSegments(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for _, tc := range []struct {
		name     string
		n, bound int
		sortPath bool
	}{{"counting sort", 500, 64, false}, {"sort", 300, 1 << 30, true}, {"one row", 1, 5, false}, {"empty", 0, 5, false}} {
		t.Run(tc.name, func(t *testing.T) {
			rows := make([]int32, tc.n)
			for i := range rows {
				rows[i] = int32(rng.IntN(min(tc.bound, 64)))
			}
			start, items, segRow := segments(rows, tc.bound)
			if len(start) != len(segRow)+1 || int(start[len(start)-1]) != tc.n || len(items) != tc.n {
				t.Fatalf("bad shapes: %d starts, %d rows, %d items for %d", len(start), len(segRow), len(items), tc.n)
			}
			seen := make([]bool, tc.n)
			for s := range segRow {
				if s > 0 && segRow[s] <= segRow[s-1] {
					t.Errorf("segment rows not ascending: %d after %d", segRow[s], segRow[s-1])
				}
				for j := start[s]; j < start[s+1]; j++ {
					i := items[j]
					if rows[i] != segRow[s] {
						t.Errorf("item %d (row %d) in the segment of row %d", i, rows[i], segRow[s])
					}
					if j > start[s] && i <= items[j-1] {
						t.Errorf("items of row %d not ascending", segRow[s])
					}
					seen[i] = true
				}
			}
			for i, ok := range seen {
				if !ok {
					t.Errorf("item %d in no segment", i)
				}
			}
		})
	}
}

func TestSizeClass(t *testing.T) {
	for _, c := range []struct{ in, want int }{{0, 512}, {1, 512}, {512, 512}, {513, 1024}, {1<<20 - 1, 1 << 20}, {1<<20 + 1, 2 << 20}} {
		if got := sizeClass(c.in); got != c.want {
			t.Errorf("sizeClass(%d) = %d, want %d", c.in, got, c.want)
		}
	}
}
