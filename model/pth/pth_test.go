package pth

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/minimind-go/minimind/model/safetensors"
)

// expected mirrors testdata/expected.json, written by make_pth.py from PyTorch's own view.
type expectedSet struct {
	Names   []string                   `json:"names"`
	Values  map[string]json.RawMessage `json:"values"`
	Tensors map[string]struct {
		DType  string   `json:"dtype"`
		Shape  []int    `json:"shape"`
		Stride []int    `json:"stride"`
		Offset int64    `json:"offset"`
		Bits   []uint32 `json:"bits"`
	} `json:"tensors"`
}

func loadExpected(t *testing.T) map[string]expectedSet {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var exp map[string]expectedSet
	if err := json.Unmarshal(raw, &exp); err != nil {
		t.Fatal(err)
	}
	return exp
}

func checkAgainst(t *testing.T, f *File, ts []Tensor, want expectedSet) {
	t.Helper()
	if got := f.Names(); !slices.Equal(got, want.Names) {
		t.Fatalf("names\n got %q\nwant %q", got, want.Names)
	}
	for i, tt := range ts {
		w := want.Tensors[tt.Name]
		info, _ := f.Info(tt.Name)
		if tt.Name != want.Names[i] || string(tt.DType) != w.DType || !slices.Equal(tt.Shape, w.Shape) ||
			!slices.Equal(info.Stride, w.Stride) || info.Offset != w.Offset {
			t.Fatalf("%s: got %s %v stride %v offset %d, want %s %v stride %v offset %d",
				tt.Name, tt.DType, tt.Shape, info.Stride, info.Offset, w.DType, w.Shape, w.Stride, w.Offset)
		}
		if len(tt.Data) != len(w.Bits) {
			t.Fatalf("%s: %d elements, want %d", tt.Name, len(tt.Data), len(w.Bits))
		}
		for j, v := range tt.Data {
			if math.Float32bits(v) != w.Bits[j] {
				t.Fatalf("%s[%d] = %v (%#08x), PyTorch has %#08x", tt.Name, j, v, math.Float32bits(v), w.Bits[j])
			}
		}
	}
}

func TestPyTorchFiles(t *testing.T) {
	exp := loadExpected(t)
	tests := []struct{ file, set string }{
		{"model.pth", "model"},
		{"proto4.pth", "model"},
		{"deflated.pth", "model"},
		{"wrapped.pth", "wrapped"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			f, err := Open(filepath.Join("testdata", tt.file))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			ts, err := f.ReadAll(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			want := exp[tt.set]
			checkAgainst(t, f, ts, want)
			values := f.Values()
			if len(values) != len(want.Values) {
				t.Fatalf("values %v, want %d of them", values, len(want.Values))
			}
			for k, raw := range want.Values {
				got, ok := values[k]
				if !ok {
					t.Fatalf("value %q missing", k)
				}
				var w any
				dec := json.NewDecoder(bytes.NewReader(raw))
				dec.UseNumber()
				if err := dec.Decode(&w); err != nil {
					t.Fatal(err)
				}
				if n, ok := w.(json.Number); ok {
					if i, err := n.Int64(); err == nil && !strings.ContainsAny(n.String(), ".e") {
						w = i
					} else {
						w, _ = n.Float64()
					}
				}
				if got != w {
					t.Fatalf("value %q = %#v, want %#v", k, got, w)
				}
			}
		})
	}
}

func TestMatchesSafetensors(t *testing.T) {
	// make_pth.py wrote the same state dict both ways; both readers must agree exactly.
	pt, err := ReadFile(filepath.Join("testdata", "model.pth"))
	if err != nil {
		t.Fatal(err)
	}
	st, _, err := safetensors.ReadFile(filepath.Join("testdata", "model.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	if len(pt) != len(st) {
		t.Fatalf("%d pth tensors, %d safetensors", len(pt), len(st))
	}
	for i := range pt {
		a, b := safetensors.Tensor(pt[i]), st[i]
		if a.Name != b.Name || a.DType != b.DType || !slices.Equal(a.Shape, b.Shape) || len(a.Data) != len(b.Data) {
			t.Fatalf("tensor %d: pth %s %s %v, safetensors %s %s %v", i, a.Name, a.DType, a.Shape, b.Name, b.DType, b.Shape)
		}
		for j := range a.Data {
			if math.Float32bits(a.Data[j]) != math.Float32bits(b.Data[j]) {
				t.Fatalf("%s[%d]: pth %v, safetensors %v", a.Name, j, a.Data[j], b.Data[j])
			}
		}
	}
}

func TestLegacyFormat(t *testing.T) {
	_, err := ReadFile(filepath.Join("testdata", "legacy.pth"))
	if !errors.Is(err, ErrLegacyFormat) || !strings.Contains(err.Error(), "legacy.pth") {
		t.Fatalf("got %v", err)
	}
}

func TestHandBuilt(t *testing.T) {
	storage24 := f32Bytes(iota32(24)...)
	tests := []struct {
		name   string
		pkl    []byte
		st     map[string][]byte
		names  []string
		shapes [][]int
		data   [][]float32
	}{
		{
			"permuted 3-d view",
			newPK().op('}').str("w").tensor("FloatStorage", "0", 24, 0, []int64{2, 3, 4}, []int64{1, 8, 2}).op('s').stop(),
			map[string][]byte{"0": storage24},
			[]string{"w"}, [][]int{{2, 3, 4}},
			[][]float32{{0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23}},
		},
		{
			"offset slice of a column",
			newPK().op('}').str("c").tensor("FloatStorage", "0", 24, 5, []int64{3}, []int64{6}).op('s').stop(),
			map[string][]byte{"0": storage24},
			[]string{"c"}, [][]int{{3}}, [][]float32{{5, 11, 17}},
		},
		{
			"scalar, empty and size-1 dims with odd strides",
			newPK().op('}', '(').
				str("s").tensor("FloatStorage", "0", 24, 23, nil, nil).
				str("e").tensor("FloatStorage", "0", 24, 0, []int64{0, 5}, []int64{99, 1}).
				str("o").tensor("FloatStorage", "0", 24, 2, []int64{1, 3}, []int64{1000, 1}).
				op('u').stop(),
			map[string][]byte{"0": storage24},
			[]string{"s", "e", "o"}, [][]int{{}, {0, 5}, {1, 3}}, [][]float32{{23}, {}, {2, 3, 4}},
		},
		{
			"root tensor, parameter wrapper",
			newPK().global("torch._utils", "_rebuild_parameter").op('(').
				tensor("HalfStorage", "0", 2, 0, []int64{2}, []int64{1}).op(0x88).
				global("collections", "OrderedDict").op(')', 'R', 't', 'R').stop(),
			map[string][]byte{"0": {0x00, 0x3c, 0x00, 0xc0}},
			[]string{""}, [][]int{{2}}, [][]float32{{1, -2}},
		},
		{
			"nested dicts, lists and int keys",
			newPK().op('}', '(').
				str("opt").op('}').int(3).op(']').tensor("BFloat16Storage", "1", 1, 0, []int64{1}, []int64{1}).op('a').op('s').
				str("m").global("collections", "OrderedDict").op(')', 'R').str("x").tensor("LongStorage", "2", 1, 0, nil, nil).op('s').
				op('u').stop(),
			map[string][]byte{"1": {0x80, 0x3f}, "2": {0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
			[]string{"opt.3.0", "m.x"}, [][]int{{1}, {}}, [][]float32{{1}, {-2}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			file := checkpoint(t, tt.pkl, tt.st)
			ts, err := Read(bytes.NewReader(file), int64(len(file)), "hand.pth")
			if err != nil {
				t.Fatal(err)
			}
			if len(ts) != len(tt.names) {
				t.Fatalf("%d tensors, want %d", len(ts), len(tt.names))
			}
			for i, x := range ts {
				if x.Name != tt.names[i] || !slices.Equal(x.Shape, tt.shapes[i]) || !slices.Equal(x.Data, tt.data[i]) {
					t.Fatalf("tensor %d: %q %v %v, want %q %v %v", i, x.Name, x.Shape, x.Data, tt.names[i], tt.shapes[i], tt.data[i])
				}
			}
		})
	}
}

func TestValues(t *testing.T) {
	pkl := newPK().op('}', '(').
		str("epoch").int(-7).
		str("big").int(1<<40).
		str("lr").float(5e-4).
		str("flag").op(0x88).
		str("none").op('N').
		str("bytes").global("_codecs", "encode").str("a\u00ff").str("latin1").op(0x86, 'R').
		str("obj").global("argparse", "Namespace").op(')', 'R').op('}').str("x").int(1).op('s', 'b').
		str("tup").op('(').int(1).str("two").op('t').
		op('u').stop()
	file := checkpoint(t, pkl, nil)
	f, err := NewReader(bytes.NewReader(file), int64(len(file)), "values.pth")
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"epoch": int64(-7), "big": int64(1 << 40), "lr": 5e-4, "flag": true, "none": nil,
		"obj": Object{Module: "argparse", Name: "Namespace"}, "tup.0": int64(1), "tup.1": "two",
	}
	got := f.Values()
	if b, ok := got["bytes"].([]byte); !ok || !bytes.Equal(b, []byte{'a', 0xff}) {
		t.Fatalf("bytes = %#v", got["bytes"])
	}
	delete(got, "bytes")
	if len(got) != len(want) {
		t.Fatalf("values %v, want %v", got, want)
	}
	for k, w := range want {
		if got[k] != w {
			t.Fatalf("%s = %#v, want %#v", k, got[k], w)
		}
	}
	if len(f.Names()) != 0 {
		t.Fatalf("tensors %v", f.Names())
	}
}

func TestBigEndian(t *testing.T) {
	pkl := newPK().op('}').str("w").tensor("HalfStorage", "0", 2, 0, []int64{2}, []int64{1}).op('s').stop()
	file := checkpoint(t, pkl, map[string][]byte{"0": {0x3c, 0x00, 0xc0, 0x00}}, rec{name: "archive/byteorder", data: []byte("big")})
	ts, err := Read(bytes.NewReader(file), int64(len(file)), "be.pth")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ts[0].Data, []float32{1, -2}) {
		t.Fatalf("got %v", ts[0].Data)
	}
}

func TestInvalid(t *testing.T) {
	okPkl := newPK().op('}').str("w").tensor("FloatStorage", "0", 2, 0, []int64{2}, []int64{1}).op('s').stop()
	two := map[string][]byte{"0": f32Bytes(1, 2)}
	tensorPkl := func(class string, numel, off int64, size, stride []int64) []byte {
		return newPK().op('}').str("w").tensor(class, "0", numel, off, size, stride).op('s').stop()
	}
	bomb := makeZip(t, rec{name: "archive/data.pkl", data: okPkl, method: 8}, rec{name: "archive/data/0", data: make([]byte, 8), method: 8})
	// Claim far more uncompressed bytes than deflate can produce from the stored stream.
	if i := bytes.LastIndex(bomb, []byte("archive/data/0")); i > 0 {
		binary.LittleEndian.PutUint32(bomb[i-46+24:], 1<<31) // central directory: uncompressed size
	}
	tests := []struct {
		name  string
		file  []byte
		want  error
		entry string
	}{
		{"empty", nil, ErrFormat, ""},
		{"not a zip", []byte("hello, world"), ErrFormat, ""},
		{"no data.pkl", makeZip(t, rec{name: "archive/version", data: []byte("3")}), ErrFormat, ""},
		{"two data.pkl", makeZip(t, rec{name: "a/data.pkl", data: okPkl}, rec{name: "b/data.pkl", data: okPkl}), ErrFormat, ""},
		{"duplicate zip entry", makeZip(t, rec{name: "a/data.pkl", data: okPkl}, rec{name: "a/data.pkl", data: okPkl}), ErrFormat, ""},
		{"bad byteorder", checkpoint(t, okPkl, two, rec{name: "archive/byteorder", data: []byte("middle")}), ErrFormat, ""},
		{"missing record", checkpoint(t, okPkl, nil), ErrStorage, "w"},
		{"short record", checkpoint(t, okPkl, map[string][]byte{"0": f32Bytes(1)}), ErrStorage, "w"},
		{"long record", checkpoint(t, okPkl, map[string][]byte{"0": f32Bytes(1, 2, 3)}), ErrStorage, "w"},
		{"view past storage", checkpoint(t, tensorPkl("FloatStorage", 2, 1, []int64{2}, []int64{1}), two), ErrStorage, "w"},
		{"stride past storage", checkpoint(t, tensorPkl("FloatStorage", 2, 0, []int64{2}, []int64{2}), two), ErrStorage, "w"},
		{"huge stride", checkpoint(t, tensorPkl("FloatStorage", 2, 0, []int64{2}, []int64{1 << 62}), two), ErrStorage, "w"},
		{"huge size", checkpoint(t, tensorPkl("FloatStorage", 2, 0, []int64{1 << 40, 1 << 40}, []int64{0, 0}), two), ErrStride, "w"},
		{"negative size", checkpoint(t, tensorPkl("FloatStorage", 2, 0, []int64{-1}, []int64{1}), two), ErrStride, "w"},
		{"negative offset", checkpoint(t, tensorPkl("FloatStorage", 2, -1, []int64{1}, []int64{1}), two), ErrStorage, "w"},
		{"rank mismatch", checkpoint(t, tensorPkl("FloatStorage", 2, 0, []int64{2}, []int64{1, 1}), two), ErrPickle, "w"},
		{"expanded view", checkpoint(t, tensorPkl("FloatStorage", 2, 0, []int64{2, 2}, []int64{0, 1}), two), ErrStride, "w"},
		{"overlapping view", checkpoint(t, tensorPkl("FloatStorage", 4, 0, []int64{2, 2}, []int64{1, 1}), map[string][]byte{"0": f32Bytes(1, 2, 3, 4)}), ErrStride, "w"},
		{"complex storage", checkpoint(t, tensorPkl("ComplexFloatStorage", 1, 0, []int64{1}, []int64{1}), two), ErrUnsupported, "w"},
		{"valid control", checkpoint(t, okPkl, two), nil, ""},
		{"storage class of another module", checkpoint(t, newPK().op('}').str("w").global("torch._utils", "_rebuild_tensor_v2").op('(', '(').str("storage").global("numpy", "FloatStorage").str("0").str("cpu").int(2).op('t', 'Q').int(0).ints([]int64{2}).ints([]int64{1}).op(0x89).op('}', 't', 'R', 's').stop(), two), ErrUnsupported, "w"},
		{"truncated pickle", checkpoint(t, okPkl[:len(okPkl)-5], two), ErrPickle, ""},
		{"no STOP", checkpoint(t, okPkl[:len(okPkl)-1], two), ErrPickle, ""},
		{"unknown opcode", checkpoint(t, newPK().op('I').stop(), nil), ErrPickle, ""},
		{"stack underflow", checkpoint(t, newPK().op('s').stop(), nil), ErrPickle, ""},
		{"mark underflow", checkpoint(t, newPK().op('N', '(', 'a').stop(), nil), ErrPickle, ""},
		{"memo miss", checkpoint(t, newPK().op('h', 9).stop(), nil), ErrPickle, ""},
		{"append to dict", checkpoint(t, newPK().op('}', 'N', 'a').stop(), nil), ErrPickle, ""},
		{"unhashable key", checkpoint(t, newPK().op('}', ']', 'N', 's').stop(), nil), ErrPickle, ""},
		{"reduce on a string", checkpoint(t, newPK().str("f").op(')', 'R').stop(), nil), ErrPickle, ""},
		{"_codecs.encode without arguments", checkpoint(t, newPK().global("_codecs", "encode").op(')', 'R').stop(), nil), ErrPickle, ""},
		{"_codecs.encode of non-latin1", checkpoint(t, newPK().global("_codecs", "encode").str("\u0100").str("latin1").op(0x86, 'R').stop(), nil), ErrPickle, ""},
		{"OrderedDict of a non-list", checkpoint(t, newPK().global("collections", "OrderedDict").op('N', 0x85, 'R').stop(), nil), ErrPickle, ""},
		{"set of a non-list", checkpoint(t, newPK().global("builtins", "set").op('N', 0x85, 'R').stop(), nil), ErrPickle, ""},
		{"rebuild_tensor of a non-storage", checkpoint(t, newPK().global("torch._utils", "_rebuild_tensor").op('(', 'N', 'N', 'N', 'N', 't', 'R').stop(), nil), ErrPickle, ""},
		{"rebuild_from_type_v2 of bad arguments", checkpoint(t, newPK().global("torch._tensor", "_rebuild_from_type_v2").op('(').global("torch._tensor", "_rebuild_from_type_v2").op('N', ')', 'N', 't', 'R').stop(), nil), ErrPickle, ""},
		{"bad persistent id", checkpoint(t, newPK().str("x").op('Q').stop(), nil), ErrPickle, ""},
		{"huge string length", checkpoint(t, append(newPK().op('X', 0xff, 0xff, 0xff, 0x7f).Bytes(), '.'), nil), ErrPickle, ""},
		{"cycle", checkpoint(t, newPK().op(']', 'q', 0, 'h', 0, 'a').stop(), nil), ErrPickle, ""},
		{"duplicate flattened name", checkpoint(t, newPK().op('}', '(').str("a.b").int(1).str("a").op('}').str("b").int(2).op('s', 'u').stop(), nil), ErrDuplicate, "a.b"},
		{"deflate bomb", bomb, ErrFormat, ""},
		{"legacy", []byte("\x80\x02\x8a\x0alz\xa8\x16\xb8\xf3\x00\x00"), ErrLegacyFormat, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Read(bytes.NewReader(tt.file), int64(len(tt.file)), "bad.pth")
			if tt.want == nil {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if !strings.Contains(err.Error(), "bad.pth") {
				t.Fatalf("error %q does not name the file", err)
			}
			if tt.entry != "" && !strings.Contains(err.Error(), `"`+tt.entry+`"`) {
				t.Fatalf("error %q does not name entry %q", err, tt.entry)
			}
		})
	}
}

func TestExponentialSharing(t *testing.T) {
	// l0 = [1]; l(k+1) = [lk, lk]: 40 levels would flatten to 2^40 names.
	p := newPK().op(']').int(1).op('a')
	for range 40 {
		p.op('2', 0x86) // DUP, TUPLE2
	}
	file := checkpoint(t, p.stop(), nil)
	if _, err := Read(bytes.NewReader(file), int64(len(file)), "x.pth"); !errors.Is(err, ErrPickle) {
		t.Fatalf("got %v", err)
	}
	// The same sharing used as a dict key must not build a 2^40-byte key.
	k := newPK().op('}').str("k")
	for range 40 {
		k.op('2', 0x86)
	}
	file = checkpoint(t, k.op('N', 's').stop(), nil)
	if _, err := Read(bytes.NewReader(file), int64(len(file)), "x.pth"); !errors.Is(err, ErrPickle) {
		t.Fatalf("key: got %v", err)
	}
}

func TestLazyAPI(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join("testdata", "model.pth"))
	if err != nil {
		t.Fatal(err)
	}
	mfs := fstest.MapFS{"m.pth": {Data: raw}}
	f, err := OpenFS(mfs, "m.pth")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	info, ok := f.Info("model.layers.0.mlp.gate_proj.weight")
	if !ok || info.Contiguous() || !slices.Equal(info.Stride, []int{1, 16}) || info.NumElements() != 128 {
		t.Fatalf("info %+v", info)
	}
	infos := f.Tensors()
	infos[0].Shape[0] = -1
	if again, _ := f.Info(infos[0].Name); again.Shape[0] != 16 {
		t.Fatal("Tensors exposed the File's own slices")
	}
	emb, err := f.Float32("model.embed_tokens.weight")
	if err != nil {
		t.Fatal(err)
	}
	head, err := f.Float32("lm_head.weight")
	if err != nil || !slices.Equal(emb, head) {
		t.Fatalf("tied weights differ: %v", err)
	}
	if _, err := f.Float32("nope"); !errors.Is(err, ErrNotFound) || !strings.Contains(err.Error(), `"nope"`) {
		t.Fatalf("missing tensor: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.ReadAll(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	if _, err := OpenFS(mfs, "missing.pth"); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
	if _, err := Open(filepath.Join(t.TempDir(), "none.pth")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("missing file: %v", err)
	}
}

func TestLargeStorageStreams(t *testing.T) {
	// More than one read chunk, contiguous and transposed, stored and deflated.
	const rows, cols = 600, 1000 // 600k elements > chunkElems
	data := make([]byte, rows*cols*2)
	for i := range rows * cols {
		binary.LittleEndian.PutUint16(data[2*i:], safetensors.Float32ToF16(float32(i%2048)))
	}
	pkl := newPK().op('}', '(').
		str("w").tensor("HalfStorage", "0", rows*cols, 0, []int64{rows, cols}, []int64{cols, 1}).
		str("t").tensor("HalfStorage", "0", rows*cols, 0, []int64{cols, rows}, []int64{1, cols}).
		op('u').stop()
	for _, method := range []uint16{0, 8} {
		file := makeZip(t, rec{name: "a/data.pkl", data: pkl, method: method}, rec{name: "a/data/0", data: data, method: method})
		ts, err := Read(bytes.NewReader(file), int64(len(file)), "big.pth")
		if err != nil {
			t.Fatal(err)
		}
		w, tr := ts[0].Data, ts[1].Data
		for i := range rows {
			for j := range cols {
				if w[i*cols+j] != float32((i*cols+j)%2048) || tr[j*rows+i] != w[i*cols+j] {
					t.Fatalf("method %d: element (%d,%d) wrong", method, i, j)
				}
			}
		}
	}
}
