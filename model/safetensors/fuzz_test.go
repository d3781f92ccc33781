package safetensors

import (
	"bytes"
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"
)

// FuzzParse feeds arbitrary bytes to the reader: it must never panic, and whatever it
// accepts must read back consistently through every entry point and survive a rewrite.
// The seed corpus is testdata/*.safetensors plus testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.safetensors"))
	for _, p := range seeds {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Add(build(`{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]},"b":{"dtype":"BF16","shape":[1],"data_offsets":[4,6]}}`, []byte{0, 0x3c, 0, 0x7e, 0x80, 0x3f}))
	f.Fuzz(func(t *testing.T, data []byte) {
		pf, err := Parse(data)
		rf, rerr := NewReader(bytes.NewReader(data), int64(len(data)), "fuzz")
		if (err == nil) != (rerr == nil) {
			t.Fatalf("Parse and NewReader disagree: %v / %v", err, rerr)
		}
		if err != nil {
			return
		}
		var total int64
		for _, ti := range pf.Tensors() {
			total += ti.End - ti.Begin
		}
		if total != int64(len(data))-pf.dataStart {
			t.Fatalf("tensors cover %d of %d data bytes", total, int64(len(data))-pf.dataStart)
		}
		ts, err := pf.ReadAll(context.Background())
		if err != nil {
			// Only unconvertible dtypes may fail once the header is valid.
			for _, ti := range pf.Tensors() {
				if !ti.DType.Convertible() {
					return
				}
			}
			t.Fatalf("ReadAll: %v", err)
		}
		rts, err := rf.ReadAll(context.Background())
		if err != nil {
			t.Fatalf("ReadAll through ReaderAt: %v", err)
		}
		for i := range ts {
			if ts[i].Name != rts[i].Name || !sameBits(ts[i].Data, rts[i].Data) || len(ts[i].Data) != (TensorInfo{Shape: ts[i].Shape}).NumElements() {
				t.Fatalf("tensor %q differs between entry points", ts[i].Name)
			}
		}
		// Rewrite what is writable and read it back.
		var keep []Tensor
		for _, tt := range ts {
			if tt.DType.Writable() {
				keep = append(keep, tt)
			}
		}
		var buf bytes.Buffer
		if err := Write(&buf, keep, pf.Metadata()); err != nil {
			t.Fatalf("Write: %v", err)
		}
		back, err := Parse(buf.Bytes())
		if err != nil {
			t.Fatalf("re-Parse: %v", err)
		}
		bts, err := back.ReadAll(context.Background())
		if err != nil || len(bts) != len(keep) {
			t.Fatalf("re-ReadAll: %v", err)
		}
		for i := range keep {
			if bts[i].Name != keep[i].Name || !sameBits(bts[i].Data, keep[i].Data) {
				t.Fatalf("tensor %q changed in the rewrite", keep[i].Name)
			}
		}
	})
}

// sameBits compares float32 slices bit for bit, treating all NaNs as equal.
func sameBits(a, b []float32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if math.IsNaN(float64(a[i])) && math.IsNaN(float64(b[i])) {
			continue
		}
		if math.Float32bits(a[i]) != math.Float32bits(b[i]) {
			return false
		}
	}
	return true
}
