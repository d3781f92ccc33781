package vmath

import (
	"math"
	"math/rand/v2"
	"testing"
)

// relErr is |got-want|/|want| (absolute below 1e-30).
func relErr(got float32, want float64) float64 {
	d := math.Abs(float64(got) - want)
	if math.Abs(want) > 1e-30 {
		d /= math.Abs(want)
	}
	return d
}

func TestExp(t *testing.T) {
	for _, tc := range []struct {
		name string
		x    float32
		want float64
	}{
		{"zero", 0, 1},
		{"one", 1, math.E},
		{"minus one", -1, 1 / math.E},
		{"large", 88, math.Exp(88)},
		{"small", -87, math.Exp(-87)},
		{"too large", 88.5, math.Inf(1)},
		{"too small", -88, 0},
		{"minus inf", float32(math.Inf(-1)), 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Exp(tc.x)
			if math.IsInf(tc.want, 1) {
				if !math.IsInf(float64(got), 1) {
					t.Errorf("Exp(%v) = %v, want +Inf", tc.x, got)
				}
				return
			}
			if relErr(got, tc.want) > 2e-7 {
				t.Errorf("Exp(%v) = %v, want %v", tc.x, got, tc.want)
			}
		})
	}
	if got := Exp(float32(math.NaN())); got == got {
		t.Errorf("Exp(NaN) = %v", got)
	}
}

// TestExpShift compares ExpShift (the assembly where the CPU has it) with
// float64 math.Exp over the whole range and every length up to 70, so the
// vector body and the scalar tail both run.
func TestExpShift(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	worst := 0.0
	for n := range 71 {
		src := make([]float32, n)
		for i := range src {
			src[i] = float32(r.Float64()*180 - 90)
		}
		if n > 3 {
			src[1] = float32(math.Inf(-1))
			src[2] = -87.5
		}
		const shift = 1.5
		dst := make([]float32, n)
		sum := ExpShift(dst, src, shift)
		want := 0.0
		for i, v := range src {
			x := float64(v - shift) // the float32 difference ExpShift takes the exp of
			e := math.Exp(x)
			if x < expLo {
				e = 0
			}
			if x > expHi {
				if !math.IsInf(float64(dst[i]), 1) {
					t.Fatalf("n=%d: exp(%v) = %v, want +Inf", n, x, dst[i])
				}
				continue
			}
			want += float64(float32(e))
			if d := relErr(dst[i], e); d > worst {
				worst = d
			}
			if d := relErr(dst[i], e); d > 2e-7 {
				t.Fatalf("n=%d: exp(%v-%v) = %v, want %v", n, v, shift, dst[i], e)
			}
		}
		if !math.IsInf(sum, 1) && math.Abs(sum-want) > 1e-6*math.Abs(want) {
			t.Errorf("n=%d: sum %v, want %v", n, sum, want)
		}
	}
	t.Logf("worst relative error %.3g (AVX2: %v)", worst, useAVXForTest())
}

func TestExpShiftInPlace(t *testing.T) {
	x := []float32{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}
	sum := ExpShift(x, x, 9)
	if relErr(x[9], 1) > 1e-7 || relErr(x[0], math.Exp(-9)) > 2e-7 {
		t.Errorf("in place: %v", x)
	}
	want := 0.0
	for i := range 10 {
		want += math.Exp(float64(i - 9))
	}
	if math.Abs(sum-want) > 1e-6 {
		t.Errorf("sum %v, want %v", sum, want)
	}
}

// benchLogits is a 6400-wide row of logit-like values (the MiniMind
// vocabulary), shifted so that the largest is 0.
func benchLogits() []float32 {
	src := make([]float32, 6400)
	for i := range src {
		src[i] = float32(i%97) * -0.1
	}
	return src
}

func BenchmarkExpShift(b *testing.B) {
	src := benchLogits()
	dst := make([]float32, len(src))
	b.SetBytes(int64(4 * len(src)))
	for b.Loop() {
		ExpShift(dst, src, 0)
	}
}

// BenchmarkMathExp is the scalar float64 math.Exp the engine used before.
func BenchmarkMathExp(b *testing.B) {
	src := benchLogits()
	dst := make([]float32, len(src))
	b.SetBytes(int64(4 * len(src)))
	for b.Loop() {
		for i, v := range src {
			dst[i] = float32(math.Exp(float64(v)))
		}
	}
}

// TestExpShiftWholeRange sweeps 200,001 evenly spaced arguments over the
// whole finite range [-87.3, 88] through ExpShift (assembly where the CPU
// has it) and Exp (scalar): both stay within 2e-7 of float64 math.Exp.
func TestExpShiftWholeRange(t *testing.T) {
	const n = 200_001
	src := make([]float32, n)
	for i := range src {
		src[i] = float32(expLo + (expHi-expLo)*float64(i)/(n-1))
	}
	dst := make([]float32, n)
	ExpShift(dst, src, 0)
	worst, worstScalar := 0.0, 0.0
	for i, x := range src {
		want := math.Exp(float64(x))
		worst = max(worst, relErr(dst[i], want))
		worstScalar = max(worstScalar, relErr(Exp(x), want))
	}
	if worst > 2e-7 || worstScalar > 2e-7 {
		t.Errorf("worst relative error: ExpShift %.3g, Exp %.3g; want ≤ 2e-7", worst, worstScalar)
	}
	t.Logf("worst relative error: ExpShift %.3g, Exp %.3g", worst, worstScalar)
}
