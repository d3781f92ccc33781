package pth

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
)

// FuzzRead feeds arbitrary bytes to the reader as a whole checkpoint file: it must never
// panic, and what it accepts must read completely. The seed corpus is testdata/*.pth plus
// testdata/fuzz/FuzzRead.
func FuzzRead(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.pth"))
	for _, p := range seeds {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		checkConsistent(t, data)
	})
}

// FuzzPickle wraps arbitrary bytes as the data.pkl of a well-formed archive with a few
// storages, so that the fuzzer spends its time in the pickle interpreter and the view checks
// rather than in the zip reader. The seed corpus is the pickles of testdata/*.pth plus
// testdata/fuzz/FuzzPickle.
func FuzzPickle(f *testing.F) {
	seeds, _ := filepath.Glob(filepath.Join("testdata", "*.pth"))
	for _, p := range seeds {
		fh, err := Open(p)
		if err != nil {
			continue // legacy.pth
		}
		zf := fh.records[fh.prefix+"data.pkl"]
		pkl, err := fh.readSmall(zf, MaxPickleSize)
		fh.Close()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(pkl)
	}
	f.Add(newPK().op('}', '(').
		str("a").tensor("HalfStorage", "0", 8, 1, []int64{2, 3}, []int64{1, 2}).
		str("b").tensor("BFloat16Storage", "1", 4, 0, []int64{4}, []int64{1}).
		op('u').stop())
	storages := []rec{
		{name: "archive/data/0", data: bytes.Repeat([]byte{0x00, 0x3c}, 8)},
		{name: "archive/data/1", data: bytes.Repeat([]byte{0x80, 0x3f}, 4)},
		{name: "archive/data/2", data: bytes.Repeat([]byte{0, 0, 0x80, 0x3f}, 4)},
		{name: "archive/data/3", data: make([]byte, 16)},
		{name: "archive/byteorder", data: []byte("little")},
	}
	f.Fuzz(func(t *testing.T, pkl []byte) {
		file := makeZip(t, append([]rec{{name: "archive/data.pkl", data: pkl}}, storages...)...)
		checkConsistent(t, file)
	})
}

func checkConsistent(t *testing.T, data []byte) {
	f, err := NewReader(bytes.NewReader(data), int64(len(data)), "fuzz.pth")
	if err != nil {
		return
	}
	ts, err := f.ReadAll(context.Background())
	if err != nil {
		// Only a record that cannot be decompressed may fail after a successful open.
		return
	}
	for i, x := range ts {
		info := f.tensors[i].info
		if x.Name != info.Name || len(x.Data) != info.NumElements() {
			t.Fatalf("tensor %q: %d elements for shape %v", x.Name, len(x.Data), info.Shape)
		}
	}
}
