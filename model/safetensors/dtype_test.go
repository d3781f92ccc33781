package safetensors

import (
	"math"
	"math/rand/v2"
	"sort"
	"testing"
)

// refF16Value computes a finite half's value with float64 arithmetic, independently of
// F16ToFloat32.
func refF16Value(h uint16) float64 {
	exp := int(h>>10) & 0x1f
	mant := float64(h & 0x3ff)
	var v float64
	if exp == 0 {
		v = mant * math.Pow(2, -24)
	} else {
		v = (1 + mant/1024) * math.Pow(2, float64(exp-15))
	}
	if h&0x8000 != 0 {
		v = -v
	}
	return v
}

func TestF16ToFloat32AllValues(t *testing.T) {
	for i := range 1 << 16 {
		h := uint16(i)
		got := F16ToFloat32(h)
		exp := h >> 10 & 0x1f
		switch {
		case exp == 0x1f && h&0x3ff != 0:
			if !math.IsNaN(float64(got)) {
				t.Fatalf("%#04x: got %v, want NaN", h, got)
			}
		case exp == 0x1f:
			sign := 1
			if h&0x8000 != 0 {
				sign = -1
			}
			if !math.IsInf(float64(got), sign) {
				t.Fatalf("%#04x: got %v, want ±Inf", h, got)
			}
		default:
			if want := refF16Value(h); float64(got) != want || math.Signbit(float64(got)) != (h&0x8000 != 0) {
				t.Fatalf("%#04x: got %v, want %v", h, got, want)
			}
			if back := Float32ToF16(got); back != h {
				t.Fatalf("%#04x: round trip gave %#04x", h, back)
			}
		}
	}
}

// refFloat32ToF16 rounds f to the nearest half by searching the sorted table of positive
// halves (with +Inf standing in as 65536, the next step after 65504), ties to even.
func refFloat32ToF16(table []float64, f float32) uint16 {
	if math.IsNaN(float64(f)) {
		return 0x7e00
	}
	var sign uint16
	a := float64(f)
	if math.Signbit(a) {
		sign, a = 0x8000, -a
	}
	if a >= 65536 {
		return sign | 0x7c00
	}
	i := sort.SearchFloat64s(table, a) // first h with table[h] >= a
	if table[i] == a {
		return sign | uint16(i)
	}
	lo, hi := i-1, i
	dl, dh := a-table[lo], table[hi]-a
	switch {
	case dl < dh:
		return sign | uint16(lo)
	case dh < dl:
		return sign | uint16(hi)
	case lo%2 == 0:
		return sign | uint16(lo)
	}
	return sign | uint16(hi)
}

func TestFloat32ToF16RoundsToNearestEven(t *testing.T) {
	table := make([]float64, 0x7c01) // [positive finite halves + Inf as 65536]
	for h := range 0x7c00 {
		table[h] = refF16Value(uint16(h))
	}
	table[0x7c00] = 65536
	var inputs []float32
	for h := range 0x7c00 {
		// Every midpoint between neighbouring halves (exact in float32) and its neighbours.
		mid := float32((table[h] + table[h+1]) / 2)
		inputs = append(inputs, mid, math.Nextafter32(mid, 0), math.Nextafter32(mid, 1e30), float32(table[h]))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for range 200000 {
		inputs = append(inputs, math.Float32frombits(rng.Uint32()))
	}
	inputs = append(inputs, 0, 65504, 65519.99, 65520, 1e-8, 2.98e-8, 2.9802322e-8, 3e-8, 1e38, float32(math.Inf(1)))
	for _, f := range inputs {
		for _, v := range []float32{f, -f} {
			got, want := Float32ToF16(v), refFloat32ToF16(table, v)
			if math.IsNaN(float64(v)) {
				if got&0x7c00 != 0x7c00 || got&0x3ff == 0 {
					t.Fatalf("%v (%#08x): got %#04x, want a NaN", v, math.Float32bits(v), got)
				}
				continue
			}
			if got != want {
				t.Fatalf("%v (%#08x): got %#04x, want %#04x", v, math.Float32bits(v), got, want)
			}
		}
	}
}

func TestBF16(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	inputs := []uint32{0, 0x80000000, 0x3f808000, 0x3f818000, 0x3f808001, 0x7f7fffff, 0x7f800000, 0x00008000, 0x00018000}
	for range 200000 {
		inputs = append(inputs, rng.Uint32())
	}
	for _, b := range inputs {
		f := math.Float32frombits(b)
		got := Float32ToBF16(f)
		if math.IsNaN(float64(f)) {
			if !math.IsNaN(float64(BF16ToFloat32(got))) {
				t.Fatalf("%#08x: NaN became %#04x", b, got)
			}
			continue
		}
		// Reference: compare the two candidates' distances in float64, ties to even.
		lo := b &^ 0xffff
		hi := lo + 0x10000
		dl := math.Abs(float64(f) - float64(math.Float32frombits(lo)))
		var dh float64
		if hi&0x7f800000 == 0x7f800000 { // the upper candidate is Inf: it is 2^128 for rounding
			dh = math.Abs(math.Ldexp(math.Copysign(1, float64(f)), 128) - float64(f))
		} else {
			dh = math.Abs(float64(math.Float32frombits(hi)) - float64(f))
		}
		want := uint16(lo >> 16)
		if dh < dl || (dh == dl && want&1 == 1) {
			want = uint16(hi >> 16)
		}
		if got != want {
			t.Fatalf("%#08x: got %#04x, want %#04x", b, got, want)
		}
		if back := BF16ToFloat32(got); math.Float32bits(back) != uint32(got)<<16 {
			t.Fatalf("%#04x: decode gave %#08x", got, math.Float32bits(back))
		}
	}
}

func TestDecodeFloat32(t *testing.T) {
	tests := []struct {
		dt   DType
		raw  []byte
		want []float32
	}{
		{F32, []byte{0, 0, 0x80, 0x3f, 0, 0, 0, 0xc0}, []float32{1, -2}},
		{F16, []byte{0x00, 0x3c, 0x00, 0xc0, 0xff, 0x7b}, []float32{1, -2, 65504}},
		{BF16, []byte{0x80, 0x3f, 0x00, 0xc0}, []float32{1, -2}},
		{F64, []byte{0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0, 0, 0, 0, 0, 0, 0, 0xc0}, []float32{1, -2}},
		{BOOL, []byte{0, 1, 7}, []float32{0, 1, 1}},
		{U8, []byte{0, 255}, []float32{0, 255}},
		{I8, []byte{0xff, 3}, []float32{-1, 3}},
		{I16, []byte{0xfe, 0xff}, []float32{-2}},
		{U16, []byte{0xfe, 0xff}, []float32{65534}},
		{I32, []byte{0xfd, 0xff, 0xff, 0xff}, []float32{-3}},
		{U32, []byte{5, 0, 0, 0}, []float32{5}},
		{I64, []byte{0xfc, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, []float32{-4}},
		{U64, []byte{9, 0, 0, 0, 0, 0, 0, 0}, []float32{9}},
	}
	for _, tt := range tests {
		t.Run(string(tt.dt), func(t *testing.T) {
			got := make([]float32, len(tt.want))
			if err := DecodeFloat32(got, tt.raw, tt.dt); err != nil {
				t.Fatal(err)
			}
			for i := range got {
				if got[i] != tt.want[i] {
					t.Fatalf("element %d: got %v, want %v", i, got[i], tt.want[i])
				}
			}
			if tt.dt.Writable() {
				back := make([]byte, len(tt.raw))
				if err := EncodeFloat32(back, got, tt.dt); err != nil {
					t.Fatal(err)
				}
				if string(back) != string(tt.raw) {
					t.Fatalf("encode: got % x, want % x", back, tt.raw)
				}
			}
		})
	}
	if err := DecodeFloat32(make([]float32, 1), []byte{0}, F8E4M3); err == nil {
		t.Fatal("F8_E4M3: want an error")
	}
	if err := DecodeFloat32(make([]float32, 2), []byte{0, 0}, F32); err == nil {
		t.Fatal("short source: want an error")
	}
	if err := EncodeFloat32(make([]byte, 1), []float32{1}, U8); err == nil {
		t.Fatal("encode U8: want an error")
	}
}
