package safetensors

import (
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"slices"
	"strings"
)

// MaxHeaderSize is the largest JSON header accepted, as in Hugging Face's implementation.
const MaxHeaderSize = 100_000_000

// chunkBytes is how much raw data Float32 reads at a time (a multiple of every dtype size).
const chunkBytes = 1 << 20

// Tensor is one tensor with its data converted to float32.
type Tensor struct {
	// Name is the tensor's name as stored.
	Name string
	// DType is the stored element type (the type to write it back as, for [Write]).
	DType DType
	// Shape lists the dimensions, outermost first; empty for a scalar.
	Shape []int
	// Data holds the elements in row-major order: len(Data) is the product of Shape.
	Data []float32
}

// TensorInfo describes one tensor of a [File] without reading its data.
type TensorInfo struct {
	// Name is the tensor's name as stored.
	Name string
	// DType is the stored element type.
	DType DType
	// Shape lists the dimensions, outermost first; empty for a scalar.
	Shape []int
	// Begin and End are the byte offsets of the data, relative to the data section.
	Begin, End int64
}

// NumElements returns the product of the shape (1 for a scalar).
func (ti TensorInfo) NumElements() int {
	n := 1
	for _, d := range ti.Shape {
		n *= d
	}
	return n
}

// File is an opened safetensors file whose header has been validated. Tensor data is read
// on demand. A File is safe for concurrent use by several goroutines.
type File struct {
	name      string      // for error messages; may be empty
	r         io.ReaderAt // the whole file
	data      []byte      // the whole file, when parsed from memory (then r is unused)
	closer    io.Closer   // closed by Close; may be nil
	dataStart int64       // 8 + header length
	tensors   []TensorInfo
	index     map[string]int
	metadata  map[string]string
}

// Open opens the safetensors file at path and validates its header. Close the File when done.
func Open(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	f, err := newFile(fh, nil, st.Size(), path)
	if err != nil {
		fh.Close()
		return nil, err
	}
	f.closer = fh
	return f, nil
}

// NewReader validates the header of the size-byte safetensors file readable through r.
// name is only used in error messages (a path, or "" for none). r must stay readable
// for as long as the File is used.
func NewReader(r io.ReaderAt, size int64, name string) (*File, error) {
	return newFile(r, nil, size, name)
}

// Parse validates the safetensors file held in data. The File reads from data without
// copying it; data must not change while the File is used.
func Parse(data []byte) (*File, error) {
	return newFile(nil, data, int64(len(data)), "")
}

// OpenFS opens the safetensors file name in fsys (an embed.FS, for instance). Files that
// implement io.ReaderAt are read lazily; others are read into memory first.
func OpenFS(fsys fs.FS, name string) (*File, error) {
	fh, err := fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, fmt.Errorf("safetensors: %w", err)
	}
	if ra, ok := fh.(io.ReaderAt); ok {
		f, err := newFile(ra, nil, st.Size(), name)
		if err != nil {
			fh.Close()
			return nil, err
		}
		f.closer = fh
		return f, nil
	}
	data, err := io.ReadAll(fh)
	fh.Close()
	if err != nil {
		return nil, fmt.Errorf("safetensors %s: %w", name, err)
	}
	f, err := newFile(nil, data, int64(len(data)), name)
	if err != nil {
		return nil, err
	}
	return f, nil
}

// ReadFile reads every tensor of the safetensors file at path, in header order, converted
// to float32, together with the header's metadata.
func ReadFile(path string) ([]Tensor, map[string]string, error) {
	f, err := Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	ts, err := f.ReadAll(context.Background())
	if err != nil {
		return nil, nil, err
	}
	return ts, f.Metadata(), nil
}

// Read reads every tensor of the size-byte safetensors file readable through r, like
// [ReadFile]. name is only used in error messages.
func Read(r io.ReaderAt, size int64, name string) ([]Tensor, map[string]string, error) {
	f, err := NewReader(r, size, name)
	if err != nil {
		return nil, nil, err
	}
	ts, err := f.ReadAll(context.Background())
	if err != nil {
		return nil, nil, err
	}
	return ts, f.Metadata(), nil
}

// Close releases the underlying file, if the File opened it.
func (f *File) Close() error {
	if f.closer == nil {
		return nil
	}
	c := f.closer
	f.closer = nil
	return c.Close()
}

// Names returns the tensor names in header order.
func (f *File) Names() []string {
	names := make([]string, len(f.tensors))
	for i, t := range f.tensors {
		names[i] = t.Name
	}
	return names
}

// Tensors returns the description of every tensor, in header order.
func (f *File) Tensors() []TensorInfo {
	out := make([]TensorInfo, len(f.tensors))
	for i, t := range f.tensors {
		t.Shape = slices.Clone(t.Shape)
		out[i] = t
	}
	return out
}

// Info returns the description of the named tensor.
func (f *File) Info(name string) (TensorInfo, bool) {
	i, ok := f.index[name]
	if !ok {
		return TensorInfo{}, false
	}
	t := f.tensors[i]
	t.Shape = slices.Clone(t.Shape)
	return t, true
}

// Metadata returns a copy of the header's "__metadata__" (empty when absent).
func (f *File) Metadata() map[string]string {
	m := make(map[string]string, len(f.metadata))
	for k, v := range f.metadata {
		m[k] = v
	}
	return m
}

// Bytes returns the named tensor's raw little-endian data, as stored.
func (f *File) Bytes(name string) ([]byte, error) {
	i, ok := f.index[name]
	if !ok {
		return nil, f.errorf(name, "%w", ErrNotFound)
	}
	t := f.tensors[i]
	buf := make([]byte, t.End-t.Begin)
	if err := f.readAt(buf, t.Begin); err != nil {
		return nil, f.errorf(name, "%w", err)
	}
	return buf, nil
}

// Float32 reads the named tensor and converts it to float32 (row-major, len = product of
// the shape). The raw data is streamed through a small buffer.
func (f *File) Float32(name string) ([]float32, error) {
	return f.float32(context.Background(), name)
}

// ReadAll reads every tensor, in header order, converted to float32. It stops early when
// ctx is cancelled.
func (f *File) ReadAll(ctx context.Context) ([]Tensor, error) {
	out := make([]Tensor, 0, len(f.tensors))
	for _, t := range f.tensors {
		data, err := f.float32(ctx, t.Name)
		if err != nil {
			return nil, err
		}
		out = append(out, Tensor{Name: t.Name, DType: t.DType, Shape: slices.Clone(t.Shape), Data: data})
	}
	return out, nil
}

func (f *File) float32(ctx context.Context, name string) ([]float32, error) {
	i, ok := f.index[name]
	if !ok {
		return nil, f.errorf(name, "%w", ErrNotFound)
	}
	t := f.tensors[i]
	if !t.DType.Convertible() {
		return nil, f.errorf(name, "dtype %s: %w", t.DType, ErrConvert)
	}
	size := int64(t.DType.Size())
	n := (t.End - t.Begin) / size
	out := make([]float32, n) // [numel]
	if f.data != nil {
		src := f.data[f.dataStart+t.Begin : f.dataStart+t.End]
		if err := DecodeFloat32(out, src, t.DType); err != nil {
			return nil, f.errorf(name, "%w", err)
		}
		return out, nil
	}
	buf := make([]byte, min(chunkBytes, t.End-t.Begin)) // [chunk elements * size]
	for done := int64(0); done < n; {
		if err := ctx.Err(); err != nil {
			return nil, f.errorf(name, "%w", err)
		}
		k := min(n-done, int64(len(buf))/size)
		raw := buf[:k*size]
		if err := f.readAt(raw, t.Begin+done*size); err != nil {
			return nil, f.errorf(name, "%w", err)
		}
		if err := DecodeFloat32(out[done:done+k], raw, t.DType); err != nil {
			return nil, f.errorf(name, "%w", err)
		}
		done += k
	}
	return out, nil
}

// readAt fills buf from the data section at off.
func (f *File) readAt(buf []byte, off int64) error {
	if f.data != nil {
		copy(buf, f.data[f.dataStart+off:])
		return nil
	}
	n, err := f.r.ReadAt(buf, f.dataStart+off)
	if n == len(buf) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return fmt.Errorf("read %d of %d bytes at %d: %w", n, len(buf), f.dataStart+off, ErrTruncated)
	}
	return err
}

func (f *File) errorf(tensor, format string, args ...any) error {
	return fmt.Errorf("%s: tensor %q: %w", f.prefix(), tensor, fmt.Errorf(format, args...))
}

func (f *File) prefix() string {
	if f.name == "" {
		return "safetensors"
	}
	return "safetensors " + f.name
}

// newFile reads and validates the header from r (or data) of the given total size.
func newFile(r io.ReaderAt, data []byte, size int64, name string) (*File, error) {
	f := &File{name: name, r: r, data: data}
	fail := func(format string, args ...any) (*File, error) {
		return nil, fmt.Errorf("%s: %w", f.prefix(), fmt.Errorf(format, args...))
	}
	if size < 8 {
		return fail("file is %d bytes, shorter than the 8-byte header length: %w", size, ErrTruncated)
	}
	var lenBuf [8]byte
	if err := f.rawReadAt(lenBuf[:], 0); err != nil {
		return fail("header length: %w", err)
	}
	hlen := binary.LittleEndian.Uint64(lenBuf[:])
	if hlen > MaxHeaderSize {
		return fail("header length %d exceeds the %d-byte limit: %w", hlen, MaxHeaderSize, ErrHeader)
	}
	if int64(hlen) > size-8 {
		return fail("header length %d runs past the end of the %d-byte file: %w", hlen, size, ErrTruncated)
	}
	header := make([]byte, hlen) // [hlen]
	if err := f.rawReadAt(header, 8); err != nil {
		return fail("header: %w", err)
	}
	f.dataStart = 8 + int64(hlen)
	if err := f.parseHeader(header, size-f.dataStart); err != nil {
		return nil, fmt.Errorf("%s: %w", f.prefix(), err)
	}
	return f, nil
}

func (f *File) rawReadAt(buf []byte, off int64) error {
	if f.data != nil {
		if off+int64(len(buf)) > int64(len(f.data)) {
			return ErrTruncated
		}
		copy(buf, f.data[off:])
		return nil
	}
	n, err := f.r.ReadAt(buf, off)
	if n == len(buf) {
		return nil
	}
	if err == nil || errors.Is(err, io.EOF) {
		return fmt.Errorf("read %d of %d bytes at %d: %w", n, len(buf), off, ErrTruncated)
	}
	return err
}

// parseHeader decodes the JSON header, keeping the tensors in their order, and validates
// every entry against a data section of dataLen bytes.
func (f *File) parseHeader(header []byte, dataLen int64) error {
	if len(header) == 0 || header[0] != '{' {
		return fmt.Errorf("header does not start with '{': %w", ErrHeader)
	}
	dec := json.NewDecoder(bytes.NewReader(header))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("header JSON: %v: %w", err, ErrHeader)
	}
	f.index = make(map[string]int)
	seenMeta := false
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return fmt.Errorf("header JSON: %v: %w", err, ErrHeader)
		}
		name, ok := tok.(string)
		if !ok {
			return fmt.Errorf("header JSON: key %v is not a string: %w", tok, ErrHeader)
		}
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return fmt.Errorf("header JSON: entry %q: %v: %w", name, err, ErrHeader)
		}
		if name == "__metadata__" {
			if seenMeta {
				return fmt.Errorf("__metadata__ appears twice: %w", ErrDuplicate)
			}
			seenMeta = true
			if err := f.parseMetadata(raw); err != nil {
				return err
			}
			continue
		}
		if _, dup := f.index[name]; dup {
			return fmt.Errorf("tensor %q: %w", name, ErrDuplicate)
		}
		ti, err := parseEntry(name, raw, dataLen)
		if err != nil {
			return fmt.Errorf("tensor %q: %w", name, err)
		}
		f.index[name] = len(f.tensors)
		f.tensors = append(f.tensors, ti)
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("header JSON: %v: %w", err, ErrHeader)
	}
	if rest := header[dec.InputOffset():]; len(strings.TrimLeft(string(rest), " \t\r\n")) != 0 {
		return fmt.Errorf("header JSON: %d unexpected bytes after the object: %w", len(rest), ErrHeader)
	}
	return f.checkLayout(dataLen)
}

func (f *File) parseMetadata(raw json.RawMessage) error {
	if !bytes.HasPrefix(bytes.TrimLeft(raw, " \t\r\n"), []byte("{")) {
		return fmt.Errorf("__metadata__ is not an object: %w", ErrHeader)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return fmt.Errorf("__metadata__: %v: %w", err, ErrHeader)
	}
	f.metadata = make(map[string]string, len(m))
	for k, v := range m {
		s, ok := v.(string)
		if !ok {
			return fmt.Errorf("__metadata__ %q: value is not a string: %w", k, ErrHeader)
		}
		f.metadata[k] = s
	}
	return nil
}

// parseEntry validates one {"dtype","shape","data_offsets"} object.
func parseEntry(name string, raw json.RawMessage, dataLen int64) (TensorInfo, error) {
	ti := TensorInfo{Name: name}
	var fields map[string]json.RawMessage
	if !bytes.HasPrefix(bytes.TrimLeft(raw, " \t\r\n"), []byte("{")) {
		return ti, fmt.Errorf("entry is not an object: %w", ErrHeader)
	}
	if err := json.Unmarshal(raw, &fields); err != nil {
		return ti, fmt.Errorf("%v: %w", err, ErrHeader)
	}
	var dt string
	if err := field(fields, "dtype", &dt); err != nil {
		return ti, err
	}
	ti.DType = DType(dt)
	if !ti.DType.Valid() {
		return ti, fmt.Errorf("dtype %q: %w", dt, ErrDType)
	}
	var shape, offs []json.Number
	if err := field(fields, "shape", &shape); err != nil {
		return ti, err
	}
	if err := field(fields, "data_offsets", &offs); err != nil {
		return ti, err
	}
	if shape == nil {
		return ti, fmt.Errorf("shape is null: %w", ErrHeader)
	}
	// numel ≤ dataLen is checked as the shape is read, so the products cannot overflow.
	ti.Shape = make([]int, len(shape))
	numel, zero := int64(1), false
	for i, s := range shape {
		d, err := s.Int64()
		if err != nil {
			return ti, fmt.Errorf("shape[%d] = %s is not an integer: %w", i, s, ErrShape)
		}
		if d < 0 {
			return ti, fmt.Errorf("shape[%d] = %d is negative: %w", i, d, ErrShape)
		}
		if int64(int(d)) != d {
			return ti, fmt.Errorf("shape[%d] = %d is too large: %w", i, d, ErrShape)
		}
		ti.Shape[i] = int(d)
		if d == 0 {
			zero = true
		}
	}
	if !zero {
		for i, d := range ti.Shape {
			if int64(d) > dataLen/numel {
				return ti, fmt.Errorf("shape %v holds more elements than the %d-byte data section (at dim %d): %w", ti.Shape, dataLen, i, ErrOffsets)
			}
			numel *= int64(d)
		}
	} else {
		numel = 0
	}
	if len(offs) != 2 {
		return ti, fmt.Errorf("data_offsets has %d values, want 2: %w", len(offs), ErrHeader)
	}
	begin, err1 := offs[0].Int64()
	end, err2 := offs[1].Int64()
	if err1 != nil || err2 != nil {
		return ti, fmt.Errorf("data_offsets %v are not integers: %w", offs, ErrOffsets)
	}
	if begin < 0 || end < begin {
		return ti, fmt.Errorf("data_offsets [%d %d] are not an ascending pair: %w", begin, end, ErrOffsets)
	}
	if end > dataLen {
		return ti, fmt.Errorf("data_offsets [%d %d] run past the %d-byte data section: %w (%w)", begin, end, dataLen, ErrOffsets, ErrTruncated)
	}
	want := numel * int64(ti.DType.Size())
	if end-begin != want {
		return ti, fmt.Errorf("data_offsets [%d %d] span %d bytes but %s %v needs %d: %w", begin, end, end-begin, ti.DType, ti.Shape, want, ErrOffsets)
	}
	ti.Begin, ti.End = begin, end
	return ti, nil
}

func field(fields map[string]json.RawMessage, key string, dst any) error {
	raw, ok := fields[key]
	if !ok {
		return fmt.Errorf("missing %q: %w", key, ErrHeader)
	}
	if err := json.Unmarshal(raw, dst); err != nil {
		return fmt.Errorf("%q: %v: %w", key, err, ErrHeader)
	}
	return nil
}

// checkLayout requires the tensors to tile the data section exactly: no overlap, no gap,
// nothing after the last tensor (as Hugging Face's reader requires).
func (f *File) checkLayout(dataLen int64) error {
	order := make([]int, len(f.tensors))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		ta, tb := f.tensors[a], f.tensors[b]
		if ta.Begin != tb.Begin {
			return cmpInt64(ta.Begin, tb.Begin)
		}
		return cmpInt64(ta.End, tb.End)
	})
	pos, prev := int64(0), ""
	for _, i := range order {
		t := f.tensors[i]
		switch {
		case t.Begin < pos:
			return fmt.Errorf("tensor %q: data_offsets [%d %d] overlap tensor %q, which ends at %d: %w", t.Name, t.Begin, t.End, prev, pos, ErrOffsets)
		case t.Begin > pos:
			return fmt.Errorf("tensor %q: data_offsets [%d %d] leave a gap after byte %d: %w", t.Name, t.Begin, t.End, pos, ErrOffsets)
		}
		pos, prev = t.End, t.Name
	}
	if pos != dataLen {
		return fmt.Errorf("tensors cover %d bytes but the data section holds %d: %w", pos, dataLen, ErrOffsets)
	}
	return nil
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
