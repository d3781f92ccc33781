package webgpu

import (
	"fmt"
	"math"
	"testing"

	"github.com/minimind-go/minimind/model"
	"github.com/minimind-go/minimind/model/cpu"
)

// halfToF32 decodes an IEEE binary16 value.
func halfToF32(h uint16) float32 {
	sign := uint32(h>>15) << 31
	exp := int(h>>10) & 0x1f
	frac := uint32(h & 0x3ff)
	switch {
	case exp == 0 && frac == 0:
		return math.Float32frombits(sign)
	case exp == 0: // subnormal
		return float32(math.Copysign(float64(frac)*math.Pow(2, -24), float64(math.Float32frombits(sign|1))))
	case exp == 31:
		return math.Float32frombits(sign | 0x7f800000 | frac<<13)
	}
	return math.Float32frombits(sign | uint32(exp-15+127)<<23 | frac<<13)
}

// TestF16Weights checks the half-precision weight path: the device's
// packing agrees with the f32 values to half precision, and MatMul with
// packed weights equals the CPU engine run on the decoded halves.
func TestF16Weights(t *testing.T) {
	ge := openTest(t, Options{Weights: WeightsF16})
	if !ge.Adapter().WeightsF16 {
		t.Fatal("WeightsF16 was not honoured")
	}
	ce := cpu.New(2)
	r := testRand(t)
	for _, c := range []struct {
		n, k, m int
		reg     bool
	}{{1, 512, 1408, false}, {3, 64, 70, false}, {9, 512, 512, false}, {70, 128, 33, false}, {9, 512, 512, true}, {70, 128, 33, true}} {
		ge.regMatmul = c.reg
		s := [3]int{c.n, c.k, c.m}
		n, k, m := s[0], s[1], s[2]
		xs, ws := randVec(r, n*k, 1), randVec(r, m*k, 0.1)
		x, w := ge.Upload(xs), ge.Upload(ws).(*Tensor)
		o := ge.Alloc(n * m)
		ge.MatMul(o, x, w, n, k, m)
		got := ge.Read(o)
		if w.half == nil {
			t.Fatalf("n=%d k=%d m=%d: no f16 copy was made", n, k, m)
		}
		words := ge.readU32(w.half, (m*k+1)/2)
		dec := make([]float32, m*k)
		for i := range dec {
			dec[i] = halfToF32(uint16(words[i/2] >> (16 * (i % 2))))
			// Round-to-nearest gives at most half an ulp of f16 (2^-11 relative).
			if d := math.Abs(float64(dec[i] - ws[i])); d > math.Abs(float64(ws[i]))*math.Ldexp(1, -11)+1e-7 {
				t.Fatalf("weight %d: %v packed as %v", i, ws[i], dec[i])
			}
		}
		want := make([]float32, n*m)
		co := ce.Alloc(n * m)
		ce.MatMul(co, ce.Upload(xs), ce.Upload(dec), n, k, m)
		copy(want, ce.Read(co))
		if e := relErr(got, want); e > tol {
			t.Errorf("f16 MatMul n=%d k=%d m=%d: relative error %.3g vs the CPU on the same halves", n, k, m, e)
		}
		// A write to w makes the packed copy stale; MatMul must repack.
		ge.Copy(w, 0, ge.Upload([]float32{100}), 0, 1)
		ge.MatMul(o, x, w, n, k, m)
		ws[0], dec[0] = 100, 100
		ce.MatMul(co, ce.Upload(xs), ce.Upload(dec), n, k, m)
		if e := relErr(ge.Read(o), ce.Read(co)); e > tol {
			t.Errorf("f16 MatMul after a weight update n=%d k=%d m=%d: relative error %.3g", n, k, m, e)
		}
	}
	if err := ge.Err(); err != nil {
		t.Fatal(err)
	}
}

// TestF16Model runs minimind2-small with f16 weights: the logits stay close
// to the f32 engine's (about 1e-3) and greedy decoding mostly agrees.
func TestF16Model(t *testing.T) {
	if testing.Short() {
		t.Skip("minimind2-small on the device takes seconds")
	}
	g32 := openTest(t, Options{})
	g16 := openTest(t, Options{Weights: WeightsF16})
	c, w := scaledRandom(t, "minimind2-small", 11, 5)
	m32, err := model.New(c, g32, w)
	if err != nil {
		t.Fatal(err)
	}
	m16, err := model.New(c, g16, w)
	if err != nil {
		t.Fatal(err)
	}
	ids := []int32{1, 320, 4000, 17, 6399, 2, 59, 901, 88}
	l32, _ := m32.Forward(ids, 1, model.ForwardOptions{})
	l16, _ := m16.Forward(ids, 1, model.ForwardOptions{})
	e := relErr(g16.Read(l16), g32.Read(l32))
	t.Logf("f16 weights: logits relative error %.3g vs f32", e)
	if e > 2e-2 || g16.Err() != nil {
		t.Errorf("f16 logits relative error %.3g (err %v)", e, g16.Err())
	}
	a, err := greedyOnDevice(m32, g32, ids, 16)
	if err != nil {
		t.Fatal(err)
	}
	b, err := greedyOnDevice(m16, g16, ids, 16)
	if err != nil {
		t.Fatal(err)
	}
	same := 0
	for i := range a {
		if a[i] != b[i] {
			break
		}
		same++
	}
	t.Logf("greedy: the first %d of 16 tokens agree (f32 %v, f16 %v)", same, a, b)
	if same < 4 {
		t.Errorf("f16 greedy decoding diverges at token %d: %s", same, fmt.Sprint(a, b))
	}
}
