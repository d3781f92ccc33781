package safetensors

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"flag"
	"io"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"testing/fstest"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

// build assembles a safetensors file from a header string and raw data.
func build(header string, data []byte) []byte {
	out := binary.LittleEndian.AppendUint64(nil, uint64(len(header)))
	out = append(out, header...)
	return append(out, data...)
}

func TestParseInvalid(t *testing.T) {
	f32x2 := make([]byte, 8)
	tests := []struct {
		name   string
		file   []byte
		want   error
		tensor string // must appear in the message when set
	}{
		{"empty", nil, ErrTruncated, ""},
		{"short length", []byte{1, 0, 0}, ErrTruncated, ""},
		{"header past end", append(binary.LittleEndian.AppendUint64(nil, 100), "{}"...), ErrTruncated, ""},
		{"huge header length", binary.LittleEndian.AppendUint64(nil, 1<<62), ErrHeader, ""},
		{"header length overflows int64", binary.LittleEndian.AppendUint64(nil, math.MaxUint64), ErrHeader, ""},
		{"not an object", build(`[1,2]`, nil), ErrHeader, ""},
		{"leading space", build(` {}`, nil), ErrHeader, ""},
		{"bad JSON", build(`{"a":`, nil), ErrHeader, ""},
		{"bad JSON in entry", build(`{"a":{"dtype":"F32",}}`, nil), ErrHeader, ""},
		{"trailing garbage", build(`{}x`, nil), ErrHeader, ""},
		{"two objects", build(`{}{}`, nil), ErrHeader, ""},
		{"entry not object", build(`{"w":[1]}`, nil), ErrHeader, "w"},
		{"missing dtype", build(`{"w":{"shape":[2],"data_offsets":[0,8]}}`, f32x2), ErrHeader, "w"},
		{"missing shape", build(`{"w":{"dtype":"F32","data_offsets":[0,8]}}`, f32x2), ErrHeader, "w"},
		{"null shape", build(`{"w":{"dtype":"F32","shape":null,"data_offsets":[0,8]}}`, f32x2), ErrHeader, "w"},
		{"missing offsets", build(`{"w":{"dtype":"F32","shape":[2]}}`, f32x2), ErrHeader, "w"},
		{"dtype not string", build(`{"w":{"dtype":4,"shape":[2],"data_offsets":[0,8]}}`, f32x2), ErrHeader, "w"},
		{"unknown dtype", build(`{"w":{"dtype":"F128","shape":[2],"data_offsets":[0,8]}}`, f32x2), ErrDType, "w"},
		{"lower-case dtype", build(`{"w":{"dtype":"f32","shape":[2],"data_offsets":[0,8]}}`, f32x2), ErrDType, "w"},
		{"negative dim", build(`{"w":{"dtype":"F32","shape":[-2],"data_offsets":[0,8]}}`, f32x2), ErrShape, "w"},
		{"fractional dim", build(`{"w":{"dtype":"F32","shape":[2.5],"data_offsets":[0,8]}}`, f32x2), ErrShape, "w"},
		{"huge dims", build(`{"w":{"dtype":"F32","shape":[4294967296,4294967296],"data_offsets":[0,8]}}`, f32x2), ErrOffsets, "w"},
		{"dim beyond int64", build(`{"w":{"dtype":"F32","shape":[99999999999999999999],"data_offsets":[0,8]}}`, f32x2), ErrShape, "w"},
		{"three offsets", build(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8,8]}}`, f32x2), ErrHeader, "w"},
		{"negative offset", build(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[-8,0]}}`, f32x2), ErrOffsets, "w"},
		{"reversed offsets", build(`{"w":{"dtype":"F32","shape":[0],"data_offsets":[8,0]}}`, f32x2), ErrOffsets, "w"},
		{"offsets past end", build(`{"w":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}`, f32x2), ErrOffsets, "w"},
		{"truncated data", build(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, f32x2[:5]), ErrOffsets, "w"},
		{"truncated data is ErrTruncated too", build(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, f32x2[:5]), ErrTruncated, "w"},
		{"size mismatch", build(`{"w":{"dtype":"F16","shape":[2],"data_offsets":[0,8]}}`, f32x2), ErrOffsets, "w"},
		{"overlap", build(`{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, f32x2), ErrOffsets, "b"},
		{"gap", build(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, f32x2), ErrOffsets, "a"},
		{"trailing data", build(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, f32x2), ErrOffsets, ""},
		{"duplicate name", build(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"a":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}`, f32x2), ErrDuplicate, "a"},
		{"duplicate metadata", build(`{"__metadata__":{},"__metadata__":{}}`, nil), ErrDuplicate, ""},
		{"metadata not object", build(`{"__metadata__":[]}`, nil), ErrHeader, ""},
		{"metadata not string", build(`{"__metadata__":{"n":1}}`, nil), ErrHeader, "n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse(tt.file)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if tt.tensor != "" && !strings.Contains(err.Error(), `"`+tt.tensor+`"`) {
				t.Fatalf("error %q does not name %q", err, tt.tensor)
			}
			_, err = NewReader(bytes.NewReader(tt.file), int64(len(tt.file)), "bad.safetensors")
			if !errors.Is(err, tt.want) || !strings.Contains(err.Error(), "bad.safetensors") {
				t.Fatalf("NewReader: got %v, want %v naming the file", err, tt.want)
			}
		})
	}
}

func TestParseValid(t *testing.T) {
	data := []byte{0, 0, 0x80, 0x3f, 0x00, 0x3c, 0x80, 0x3f, 1}
	tests := []struct {
		name   string
		header string
		data   []byte
		names  []string
		values map[string][]float32
		shapes map[string][]int
		meta   map[string]string
	}{
		{"empty", `{}`, nil, []string{}, nil, nil, map[string]string{}},
		{"padded", `{}      `, nil, []string{}, nil, nil, map[string]string{}},
		{"metadata only", `{"__metadata__":{"format":"pt"}}`, nil, []string{}, nil, nil, map[string]string{"format": "pt"}},
		{
			"mixed dtypes, header order kept, offsets unsorted",
			`{"z":{"dtype":"BF16","shape":[],"data_offsets":[6,8]},"a":{"dtype":"F32","shape":[1,1],"data_offsets":[0,4]},` +
				`"m":{"dtype":"F16","shape":[1],"data_offsets":[4,6]},"e":{"dtype":"F32","shape":[0,3],"data_offsets":[8,8]},` +
				`"b":{"dtype":"BOOL","shape":[1],"data_offsets":[8,9],"extra":"ignored"}}`,
			data, []string{"z", "a", "m", "e", "b"},
			map[string][]float32{"z": {1}, "a": {1}, "m": {1}, "e": {}, "b": {1}},
			map[string][]int{"z": {}, "a": {1, 1}, "m": {1}, "e": {0, 3}, "b": {1}},
			map[string]string{},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, err := Parse(build(tt.header, tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if got := f.Names(); !slices.Equal(got, tt.names) {
				t.Fatalf("names %q, want %q", got, tt.names)
			}
			if got := f.Metadata(); !mapsEqual(got, tt.meta) {
				t.Fatalf("metadata %v, want %v", got, tt.meta)
			}
			for name, want := range tt.values {
				got, err := f.Float32(name)
				if err != nil {
					t.Fatal(err)
				}
				if !slices.Equal(got, want) {
					t.Fatalf("%s: %v, want %v", name, got, want)
				}
				info, _ := f.Info(name)
				if !slices.Equal(info.Shape, tt.shapes[name]) || info.NumElements() != len(want) {
					t.Fatalf("%s: shape %v, want %v", name, info.Shape, tt.shapes[name])
				}
			}
		})
	}
}

func mapsEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

func TestFloat32Errors(t *testing.T) {
	f, err := Parse(build(`{"q":{"dtype":"F8_E4M3","shape":[1],"data_offsets":[0,1]}}`, []byte{0x38}))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Float32("q"); !errors.Is(err, ErrConvert) || !strings.Contains(err.Error(), `"q"`) {
		t.Fatalf("F8: got %v", err)
	}
	if raw, err := f.Bytes("q"); err != nil || !bytes.Equal(raw, []byte{0x38}) {
		t.Fatalf("Bytes: %v %v", raw, err)
	}
	if _, err := f.Float32("nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing: got %v", err)
	}
	if _, err := f.Bytes("nope"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing: got %v", err)
	}
	if _, ok := f.Info("nope"); ok {
		t.Fatal("Info found a missing tensor")
	}
}

// shrinkingReader reports a file longer than the data it can deliver, as a file truncated
// after it was opened would.
type shrinkingReader struct {
	data []byte
	cut  int64
}

func (s shrinkingReader) ReadAt(p []byte, off int64) (int, error) {
	if off >= s.cut {
		return 0, io.EOF
	}
	n := copy(p, s.data[off:min(int64(len(s.data)), s.cut)])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func TestTruncatedAfterOpen(t *testing.T) {
	file := build(`{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}`, make([]byte, 8))
	f, err := NewReader(shrinkingReader{file, int64(len(file) - 3)}, int64(len(file)), "gone.safetensors")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Float32("w"); !errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), `"w"`) {
		t.Fatalf("got %v", err)
	}
}

func sampleTensors() []Tensor {
	return []Tensor{
		{Name: "model.embed_tokens.weight", DType: F16, Shape: []int{3, 2}, Data: []float32{1, -2, 0.5, 65504, 1e-7, -0}},
		{Name: "model.norm.weight", DType: F32, Shape: []int{2}, Data: []float32{1.25, float32(math.Inf(-1))}},
		{Name: "lm_head.weight", DType: BF16, Shape: []int{2, 1}, Data: []float32{3, -0.0078125}},
		{Name: "scalar", DType: F64, Shape: []int{}, Data: []float32{0.1}},
		{Name: "empty", Shape: []int{0, 4}, Data: []float32{}},
		{Name: "名前<&>", Shape: []int{1}, Data: []float32{7}},
	}
}

func TestWriteGolden(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, sampleTensors(), map[string]string{"format": "pt", "a<b": "é"}); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "golden.safetensors")
	if *update {
		if err := os.WriteFile(golden, buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("output differs from %s (run go test -update to regenerate)", golden)
	}
	n := binary.LittleEndian.Uint64(want)
	header := string(want[8 : 8+n])
	if n%8 != 0 || !strings.HasPrefix(header, `{"__metadata__":{"a<b":"é","format":"pt"},"model.embed_tokens.weight":{"dtype":"F16","shape":[3,2],"data_offsets":[0,12]}`) {
		t.Fatalf("header %q", header)
	}
}

func TestWritePadding(t *testing.T) {
	for name := range 9 {
		var buf bytes.Buffer
		ts := []Tensor{{Name: strings.Repeat("w", name+1), Shape: []int{1}, Data: []float32{1}}}
		if err := Write(&buf, ts, nil); err != nil {
			t.Fatal(err)
		}
		out := buf.Bytes()
		n := binary.LittleEndian.Uint64(out)
		header := string(out[8 : 8+n])
		trimmed := strings.TrimRight(header, " ")
		if n%8 != 0 || len(header)-len(trimmed) >= 8 || !strings.HasSuffix(trimmed, "}") || len(out) != int(8+n+4) {
			t.Fatalf("header %q (length %d, file %d bytes)", header, n, len(out))
		}
		if _, err := Parse(out); err != nil {
			t.Fatal(err)
		}
	}
}

func TestRoundTrip(t *testing.T) {
	in := sampleTensors()
	path := filepath.Join(t.TempDir(), "model.safetensors")
	if err := WriteFile(path, in, map[string]string{"format": "pt"}); err != nil {
		t.Fatal(err)
	}
	got, meta, err := ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if meta["format"] != "pt" || len(meta) != 1 {
		t.Fatalf("metadata %v", meta)
	}
	if len(got) != len(in) {
		t.Fatalf("%d tensors, want %d", len(got), len(in))
	}
	for i, w := range in {
		g := got[i]
		dt := w.DType
		if dt == "" {
			dt = F32
		}
		if g.Name != w.Name || g.DType != dt || !slices.Equal(g.Shape, w.Shape) || len(g.Data) != len(w.Data) {
			t.Fatalf("tensor %d: got %s %s %v, want %s %s %v", i, g.Name, g.DType, g.Shape, w.Name, dt, w.Shape)
		}
		for j, v := range w.Data {
			want := v
			switch dt {
			case F16:
				want = F16ToFloat32(Float32ToF16(v))
			case BF16:
				want = BF16ToFloat32(Float32ToBF16(v))
			case F64:
				want = float32(float64(v))
			}
			if math.Float32bits(g.Data[j]) != math.Float32bits(want) {
				t.Fatalf("%s[%d] = %v, want %v", w.Name, j, g.Data[j], want)
			}
		}
	}
	// F16 rounding really happened: 1e-7 is a half subnormal, 65504 the largest half.
	if got[0].Data[4] != F16ToFloat32(0x0002) || got[0].Data[3] != 65504 {
		t.Fatalf("f16 data %v", got[0].Data)
	}
}

func TestWriteMatchesPython(t *testing.T) {
	// python.safetensors was written by hand in Python (model/pth/testdata/make_pth.py) with
	// the same conventions as Hugging Face: compact JSON, metadata first, space padding.
	want, err := os.ReadFile(filepath.Join("testdata", "python.safetensors"))
	if err != nil {
		t.Fatal(err)
	}
	f, err := Parse(want)
	if err != nil {
		t.Fatal(err)
	}
	ts, err := f.ReadAll(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := Write(&buf, ts, f.Metadata()); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(buf.Bytes(), want) {
		t.Fatalf("re-written file differs from Python's (%d vs %d bytes)", buf.Len(), len(want))
	}
}

func TestWriteInvalid(t *testing.T) {
	tests := []struct {
		name    string
		tensors []Tensor
		want    error
	}{
		{"shape mismatch", []Tensor{{Name: "w", Shape: []int{2, 2}, Data: make([]float32, 3)}}, ErrShape},
		{"huge shape", []Tensor{{Name: "w", Shape: []int{1 << 40, 1 << 40}, Data: make([]float32, 3)}}, ErrShape},
		{"negative dim", []Tensor{{Name: "w", Shape: []int{-1}, Data: nil}}, ErrShape},
		{"duplicate", []Tensor{{Name: "w", Shape: []int{}, Data: []float32{1}}, {Name: "w", Shape: []int{}, Data: []float32{1}}}, ErrDuplicate},
		{"reserved name", []Tensor{{Name: "__metadata__", Shape: []int{}, Data: []float32{1}}}, ErrHeader},
		{"bad utf8", []Tensor{{Name: "\xff", Shape: []int{}, Data: []float32{1}}}, ErrHeader},
		{"int dtype", []Tensor{{Name: "w", DType: I64, Shape: []int{}, Data: []float32{1}}}, ErrConvert},
		{"unknown dtype", []Tensor{{Name: "w", DType: "F9", Shape: []int{}, Data: []float32{1}}}, ErrConvert},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, tt.tensors, nil); !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if buf.Len() != 0 {
				t.Fatal("wrote bytes before failing")
			}
			dir := t.TempDir()
			if err := WriteFile(filepath.Join(dir, "x.safetensors"), tt.tensors, nil); !errors.Is(err, tt.want) {
				t.Fatalf("WriteFile: got %v, want %v", err, tt.want)
			}
			if ents, _ := os.ReadDir(dir); len(ents) != 0 {
				t.Fatalf("WriteFile left %d files", len(ents))
			}
		})
	}
}

type failWriter struct{ left int }

func (w *failWriter) Write(p []byte) (int, error) {
	if len(p) > w.left {
		n := w.left
		w.left = 0
		return n, errors.New("disk full")
	}
	w.left -= len(p)
	return len(p), nil
}

func TestWriteError(t *testing.T) {
	big := []Tensor{{Name: "w", Shape: []int{100000}, Data: make([]float32, 100000)}}
	if err := Write(&failWriter{left: 1000}, big, nil); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Fatalf("got %v", err)
	}
}

func TestLargeTensorStreams(t *testing.T) {
	// More than one read chunk, and every F16 pattern round trip through the writer.
	n := chunkBytes/2 + 12345
	data := make([]float32, n) // [n]
	for i := range data {
		data[i] = F16ToFloat32(uint16(i * 7919))
		if data[i] != data[i] { // NaN: keep comparisons simple
			data[i] = 1
		}
	}
	path := filepath.Join(t.TempDir(), "big.safetensors")
	if err := WriteFile(path, []Tensor{{Name: "w", DType: F16, Shape: []int{n}, Data: data}}, nil); err != nil {
		t.Fatal(err)
	}
	f, err := Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := f.Float32("w")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, data) {
		t.Fatal("large tensor differs after the round trip")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := f.ReadAll(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled ReadAll: got %v", err)
	}
}

// plainFS hides io.ReaderAt, forcing OpenFS to read the file into memory.
type plainFS struct{ fs.FS }

type plainFile struct{ fs.File }

func (p plainFS) Open(name string) (fs.File, error) {
	f, err := p.FS.Open(name)
	if err != nil {
		return nil, err
	}
	return plainFile{f}, nil
}

func TestOpenFS(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, sampleTensors(), nil); err != nil {
		t.Fatal(err)
	}
	mfs := fstest.MapFS{"m.safetensors": {Data: buf.Bytes()}, "bad.safetensors": {Data: []byte("xx")}}
	for _, tt := range []struct {
		name string
		fsys fs.FS
	}{{"ReaderAt", mfs}, {"plain", plainFS{mfs}}} {
		t.Run(tt.name, func(t *testing.T) {
			f, err := OpenFS(tt.fsys, "m.safetensors")
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			got, err := f.Float32("lm_head.weight")
			if err != nil || !slices.Equal(got, []float32{3, -0.0078125}) {
				t.Fatalf("got %v, %v", got, err)
			}
			if _, err := OpenFS(tt.fsys, "bad.safetensors"); !errors.Is(err, ErrTruncated) || !strings.Contains(err.Error(), "bad.safetensors") {
				t.Fatalf("bad file: %v", err)
			}
			if _, err := OpenFS(tt.fsys, "missing"); !errors.Is(err, fs.ErrNotExist) {
				t.Fatalf("missing file: %v", err)
			}
		})
	}
}

func TestOpenMissing(t *testing.T) {
	if _, err := Open(filepath.Join(t.TempDir(), "none.safetensors")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("got %v", err)
	}
	if _, _, err := ReadFile(filepath.Join(t.TempDir(), "none.safetensors")); !errors.Is(err, fs.ErrNotExist) {
		t.Fatalf("got %v", err)
	}
}

func TestReadAndTensors(t *testing.T) {
	var buf bytes.Buffer
	if err := Write(&buf, sampleTensors(), map[string]string{"k": "v"}); err != nil {
		t.Fatal(err)
	}
	ts, meta, err := Read(bytes.NewReader(buf.Bytes()), int64(buf.Len()), "mem")
	if err != nil || len(ts) != len(sampleTensors()) || meta["k"] != "v" {
		t.Fatalf("Read: %d tensors, %v, %v", len(ts), meta, err)
	}
	f, err := Parse(buf.Bytes())
	if err != nil {
		t.Fatal(err)
	}
	infos := f.Tensors()
	infos[0].Shape[0] = 99 // a copy: must not change the File
	if info, _ := f.Info(infos[0].Name); info.Shape[0] != 3 {
		t.Fatal("Tensors returned the File's own shape slice")
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}
