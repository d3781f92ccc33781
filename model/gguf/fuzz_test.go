package gguf

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// seedFile is a small valid GGUF with every kind of value and tensor type.
func seedFile(t testing.TB) []byte {
	var buf bytes.Buffer
	err := Write(&buf, []KV{
		{"general.architecture", "qwen3"}, {"qwen3.block_count", uint32(1)}, {"f", float32(0.5)},
		{"tokenizer.ggml.tokens", []string{"a", "b", "ab"}}, {"tokenizer.ggml.token_type", []int32{1, 1, 3}},
		{"tokenizer.ggml.merges", []string{"a b"}}, {"nested", []any{[]uint8{1, 2}}}, {"ok", true},
	}, []Tensor{
		{Name: "a", Shape: []int{2, 32}, Type: Q8_0, Data: randData(64, 1)},
		{Name: "b", Shape: []int{32}, Type: Q4_0, Data: randData(32, 2)},
		{Name: "c", Shape: []int{3}, Type: F16, Data: []float32{1, 2, 3}},
		{Name: "d", Shape: []int{1, 1, 2}, Type: F32, Data: []float32{4, 5}},
	})
	if err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// FuzzParse feeds arbitrary bytes to the reader: it must never panic, every
// tensor of a file it accepts must read, the model mapping must fail cleanly,
// and a rewrite must parse to the same metadata. Seeds: testdata/*.gguf and
// testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	f.Add(seedFile(f))
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.gguf"))
	for _, p := range seeds {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		g, err := Parse(data)
		if err != nil {
			return
		}
		var ts []Tensor
		for _, ti := range g.Tensors() {
			v, err := g.Float32(ti.Name)
			if err != nil {
				t.Fatalf("accepted file, tensor %s unreadable: %v", ti.Name, err)
			}
			ts = append(ts, Tensor{Name: ti.Name, Shape: ti.Shape(), Type: ti.Type, Data: v})
		}
		if c, err := g.Config(); err == nil {
			_, _ = g.Weights(c)
		}
		_, _, _ = g.TokenizerFiles()
		kvs := g.KVs()
		var buf bytes.Buffer
		if err := Write(&buf, kvs, ts); err != nil {
			return // e.g. a foreign general.alignment
		}
		g2, err := Parse(buf.Bytes())
		if err != nil {
			t.Fatalf("rewrite does not parse: %v", err)
		}
		if len(g2.KVs()) != len(kvs) || len(g2.Tensors()) != len(ts) {
			t.Fatalf("rewrite has %d keys / %d tensors, want %d / %d", len(g2.KVs()), len(g2.Tensors()), len(kvs), len(ts))
		}
	})
}
