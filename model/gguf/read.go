package gguf

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math"
	"os"
	"sort"
	"strconv"
)

// KV is one metadata entry. Value holds a Go value of the entry's type:
// uint8, int8, uint16, int16, uint32, int32, float32, bool, string, uint64,
// int64, float64, a slice of one of those for an array, or []any for an
// array of arrays.
type KV struct {
	Key   string
	Value any
}

// TensorInfo describes one tensor of a file.
type TensorInfo struct {
	Name string
	// Dims are ggml's dimensions, fastest-varying first (ne[0] is the row
	// length): a [rows, cols] matrix has Dims {cols, rows}.
	Dims   []uint64
	Type   TensorType
	Offset uint64 // from the start of the data section
	Size   int64  // stored bytes
}

// Shape returns the dimensions in row-major order (slowest first), as
// PyTorch and safetensors write them.
func (ti TensorInfo) Shape() []int {
	s := make([]int, len(ti.Dims))
	for i, d := range ti.Dims {
		s[len(s)-1-i] = int(d)
	}
	return s
}

// NumElements is the number of values of the tensor.
func (ti TensorInfo) NumElements() int64 {
	n := int64(1)
	for _, d := range ti.Dims {
		n *= int64(d)
	}
	return n
}

// File is an open GGUF file: its metadata and tensor table are parsed, the
// tensor data is read on demand.
type File struct {
	Version   uint32
	Alignment int
	name      string
	kvs       []KV
	keys      map[string]int
	tensors   []TensorInfo
	byName    map[string]int
	dataStart int64
	r         io.ReaderAt
	size      int64
	closer    io.Closer
}

// Open opens and parses the GGUF file at path. Close releases it.
func Open(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("gguf: %w", err)
	}
	g, err := NewReader(f, st.Size(), path)
	if err != nil {
		f.Close()
		return nil, err
	}
	g.closer = f
	return g, nil
}

// OpenFS opens a GGUF file of fsys; it is read into memory unless the file
// implements io.ReaderAt.
func OpenFS(fsys fs.FS, name string) (*File, error) {
	f, err := fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("gguf: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("gguf: %w", err)
	}
	if ra, ok := f.(io.ReaderAt); ok {
		g, err := NewReader(ra, st.Size(), name)
		if err != nil {
			f.Close()
			return nil, err
		}
		g.closer = f
		return g, nil
	}
	data, err := io.ReadAll(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("gguf: %s: %w", name, err)
	}
	return NewReader(bytes.NewReader(data), int64(len(data)), name)
}

// Parse parses a GGUF file held in memory.
func Parse(data []byte) (*File, error) {
	return NewReader(bytes.NewReader(data), int64(len(data)), "")
}

// NewReader parses the GGUF file of size bytes in r; name is used in errors.
func NewReader(r io.ReaderAt, size int64, name string) (*File, error) {
	f := &File{name: name, r: r, size: size, keys: map[string]int{}, byName: map[string]int{}}
	p := &parser{f: f, br: bufio.NewReaderSize(io.NewSectionReader(r, 0, size), 1<<16), size: size}
	if err := p.header(); err != nil {
		return nil, err
	}
	return f, nil
}

// Close releases the underlying file, if Open or OpenFS opened one.
func (f *File) Close() error {
	if f.closer != nil {
		return f.closer.Close()
	}
	return nil
}

// Name is the file name used in errors.
func (f *File) Name() string { return f.name }

func (f *File) prefix() string {
	if f.name == "" {
		return "gguf: "
	}
	return "gguf: " + f.name + ": "
}

// KVs returns the metadata in file order.
func (f *File) KVs() []KV { return f.kvs }

// Tensors returns the tensor table in file order.
func (f *File) Tensors() []TensorInfo { return f.tensors }

// Tensor returns the description of the named tensor.
func (f *File) Tensor(name string) (TensorInfo, bool) {
	i, ok := f.byName[name]
	if !ok {
		return TensorInfo{}, false
	}
	return f.tensors[i], true
}

// Value returns the value of a metadata key.
func (f *File) Value(key string) (any, bool) {
	i, ok := f.keys[key]
	if !ok {
		return nil, false
	}
	return f.kvs[i].Value, true
}

func (f *File) missing(key string) error {
	return fmt.Errorf("%skey %s: %w", f.prefix(), key, ErrMissing)
}

func (f *File) wrongType(key string, v any, want string) error {
	return fmt.Errorf("%skey %s holds %s, want %s: %w", f.prefix(), key, describe(v), want, ErrValueType)
}

// String returns a string metadata value.
func (f *File) String(key string) (string, error) {
	return typedValue[string](f, key, "a string")
}

// typedValue returns the metadata value of key as a T, or an error naming
// the key when it is missing or of another type (want says what T is).
func typedValue[T any](f *File, key, want string) (T, error) {
	var zero T
	v, ok := f.Value(key)
	if !ok {
		return zero, f.missing(key)
	}
	t, ok := v.(T)
	if !ok {
		return zero, f.wrongType(key, v, want)
	}
	return t, nil
}

// Uint returns a non-negative integer metadata value of any integer type.
func (f *File) Uint(key string) (uint64, error) {
	v, ok := f.Value(key)
	if !ok {
		return 0, f.missing(key)
	}
	n, ok := asInt(v)
	if !ok || n < 0 {
		return 0, f.wrongType(key, v, "a non-negative integer")
	}
	return uint64(n), nil
}

// Float returns a float32 or float64 metadata value.
func (f *File) Float(key string) (float64, error) {
	v, ok := f.Value(key)
	if !ok {
		return 0, f.missing(key)
	}
	switch x := v.(type) {
	case float32:
		// The shortest decimal that rounds to x: 1e-6 stored as a float32 reads as 1e-6.
		d, _ := strconv.ParseFloat(strconv.FormatFloat(float64(x), 'g', -1, 32), 64)
		return d, nil
	case float64:
		return x, nil
	}
	return 0, f.wrongType(key, v, "a float")
}

// Bool returns a bool metadata value.
func (f *File) Bool(key string) (bool, error) {
	return typedValue[bool](f, key, "a bool")
}

// Strings returns an array-of-strings metadata value.
func (f *File) Strings(key string) ([]string, error) {
	return typedValue[[]string](f, key, "an array of strings")
}

// Ints returns an array metadata value of any integer type.
func (f *File) Ints(key string) ([]int64, error) {
	v, ok := f.Value(key)
	if !ok {
		return nil, f.missing(key)
	}
	switch x := v.(type) {
	case []int64:
		return append([]int64(nil), x...), nil
	case []int32:
		return widen(x), nil
	case []uint32:
		return widen(x), nil
	case []int16:
		return widen(x), nil
	case []uint16:
		return widen(x), nil
	case []int8:
		return widen(x), nil
	case []uint8:
		return widen(x), nil
	}
	return nil, f.wrongType(key, v, "an array of integers")
}

// widen converts an array of a narrower integer type to int64.
func widen[T int32 | uint32 | int16 | uint16 | int8 | uint8](x []T) []int64 {
	out := make([]int64, len(x))
	for i, e := range x {
		out[i] = int64(e)
	}
	return out
}

func asInt(v any) (int64, bool) {
	switch x := v.(type) {
	case uint8:
		return int64(x), true
	case int8:
		return int64(x), true
	case uint16:
		return int64(x), true
	case int16:
		return int64(x), true
	case uint32:
		return int64(x), true
	case int32:
		return int64(x), true
	case uint64:
		if x > math.MaxInt64 {
			return 0, false
		}
		return int64(x), true
	case int64:
		return x, true
	}
	return 0, false
}

// describe names the GGUF type of a value for error messages.
func describe(v any) string {
	t, ok := typeOf(v)
	if !ok {
		return fmt.Sprintf("%T", v)
	}
	if t == TypeArray {
		return "an array"
	}
	return "a " + t.String()
}

// Raw returns the stored bytes of a tensor.
func (f *File) Raw(name string) ([]byte, error) {
	ti, ok := f.Tensor(name)
	if !ok {
		return nil, fmt.Errorf("%stensor %s: %w", f.prefix(), name, ErrMissing)
	}
	buf := make([]byte, ti.Size)
	if _, err := f.r.ReadAt(buf, f.dataStart+int64(ti.Offset)); err != nil {
		if errors.Is(err, io.EOF) {
			err = ErrTruncated
		}
		return nil, fmt.Errorf("%stensor %s: %w", f.prefix(), name, err)
	}
	return buf, nil
}

// Float32 reads a tensor and converts it to float32 (dequantizing Q8_0/Q4_0).
func (f *File) Float32(name string) ([]float32, error) {
	raw, err := f.Raw(name)
	if err != nil {
		return nil, err
	}
	ti, _ := f.Tensor(name)
	out := make([]float32, ti.NumElements())
	if err := Decode(out, raw, ti.Type); err != nil {
		return nil, fmt.Errorf("%stensor %s: %w", f.prefix(), name, err)
	}
	return out, nil
}

// parser reads the header sequentially, tracking the position to bound
// every length by the bytes that remain.
type parser struct {
	f    *File
	br   *bufio.Reader
	pos  int64
	size int64
	ctx  string // what is being read, for errors
}

func (p *parser) errorf(sentinel error, format string, args ...any) error {
	msg := fmt.Sprintf(format, args...)
	if p.ctx != "" {
		msg = p.ctx + ": " + msg
	}
	return fmt.Errorf("%s%s: %w", p.f.prefix(), msg, sentinel)
}

func (p *parser) read(n int) ([]byte, error) {
	if int64(n) > p.size-p.pos {
		return nil, p.errorf(ErrTruncated, "the file ends at byte %d, %d bytes needed at %d", p.size, n, p.pos)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(p.br, buf); err != nil {
		return nil, p.errorf(ErrTruncated, "%v", err)
	}
	p.pos += int64(n)
	return buf, nil
}

func (p *parser) u32() (uint32, error) {
	b, err := p.read(4)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint32(b), nil
}

func (p *parser) u64() (uint64, error) {
	b, err := p.read(8)
	if err != nil {
		return 0, err
	}
	return binary.LittleEndian.Uint64(b), nil
}

func (p *parser) str() (string, error) {
	n, err := p.u64()
	if err != nil {
		return "", err
	}
	if n > uint64(p.size-p.pos) {
		return "", p.errorf(ErrTruncated, "a string of %d bytes at byte %d runs past the end of the file", n, p.pos)
	}
	b, err := p.read(int(n))
	return string(b), err
}

func (p *parser) header() error {
	b, err := p.read(4)
	if err != nil {
		return err
	}
	if string(b) != Magic {
		return p.errorf(ErrFormat, "not a GGUF file (magic %q)", b)
	}
	if p.f.Version, err = p.u32(); err != nil {
		return err
	}
	if p.f.Version != 2 && p.f.Version != 3 {
		return p.errorf(ErrFormat, "unsupported GGUF version %d (2 or 3)", p.f.Version)
	}
	nt, err := p.u64()
	if err != nil {
		return err
	}
	nkv, err := p.u64()
	if err != nil {
		return err
	}
	// Each key/value takes at least 12 bytes and each tensor entry 24.
	if nkv > uint64(p.size)/12 || nt > uint64(p.size)/24 {
		return p.errorf(ErrTruncated, "%d metadata entries and %d tensors cannot fit in %d bytes", nkv, nt, p.size)
	}
	for i := range nkv {
		p.ctx = fmt.Sprintf("metadata entry %d", i)
		key, err := p.str()
		if err != nil {
			return err
		}
		p.ctx = "key " + key
		if _, dup := p.f.keys[key]; dup {
			return p.errorf(ErrFormat, "appears twice")
		}
		t, err := p.u32()
		if err != nil {
			return err
		}
		v, err := p.value(ValueType(t), 0)
		if err != nil {
			return err
		}
		p.f.keys[key] = len(p.f.kvs)
		p.f.kvs = append(p.f.kvs, KV{Key: key, Value: v})
	}
	p.ctx = ""
	p.f.Alignment = DefaultAlignment
	if v, ok := p.f.Value("general.alignment"); ok {
		a, ok := v.(uint32)
		if !ok {
			return p.f.wrongType("general.alignment", v, "a uint32")
		}
		if a == 0 || a&(a-1) != 0 || a > 1<<20 {
			return fmt.Errorf("%skey general.alignment is %d, not a power of two up to 2^20: %w", p.f.prefix(), a, ErrFormat)
		}
		p.f.Alignment = int(a)
	}
	for i := range nt {
		p.ctx = fmt.Sprintf("tensor entry %d", i)
		ti, err := p.tensorInfo()
		if err != nil {
			return err
		}
		if _, dup := p.f.byName[ti.Name]; dup {
			return p.errorf(ErrTensor, "tensor %s appears twice", ti.Name)
		}
		p.f.byName[ti.Name] = len(p.f.tensors)
		p.f.tensors = append(p.f.tensors, ti)
	}
	p.ctx = ""
	al := int64(p.f.Alignment)
	p.f.dataStart = (p.pos + al - 1) / al * al
	return p.checkData()
}

// maxDepth bounds nested arrays.
const maxDepth = 4

func (p *parser) value(t ValueType, depth int) (any, error) {
	if sz := t.size(); sz > 0 {
		b, err := p.read(sz)
		if err != nil {
			return nil, err
		}
		return scalar(t, b)
	}
	switch t {
	case TypeString:
		return p.str()
	case TypeArray:
		if depth >= maxDepth {
			return nil, p.errorf(ErrFormat, "arrays nested deeper than %d", maxDepth)
		}
		et, err := p.u32()
		if err != nil {
			return nil, err
		}
		n, err := p.u64()
		if err != nil {
			return nil, err
		}
		return p.array(ValueType(et), n, depth)
	}
	return nil, p.errorf(ErrValueType, "unknown value type %d", uint32(t))
}

func scalar(t ValueType, b []byte) (any, error) {
	le := binary.LittleEndian
	switch t {
	case TypeUint8:
		return b[0], nil
	case TypeInt8:
		return int8(b[0]), nil
	case TypeUint16:
		return le.Uint16(b), nil
	case TypeInt16:
		return int16(le.Uint16(b)), nil
	case TypeUint32:
		return le.Uint32(b), nil
	case TypeInt32:
		return int32(le.Uint32(b)), nil
	case TypeFloat32:
		return math.Float32frombits(le.Uint32(b)), nil
	case TypeBool:
		if b[0] > 1 {
			return nil, fmt.Errorf("bool byte %d is not 0 or 1: %w", b[0], ErrValueType)
		}
		return b[0] == 1, nil
	case TypeUint64:
		return le.Uint64(b), nil
	case TypeInt64:
		return int64(le.Uint64(b)), nil
	case TypeFloat64:
		return math.Float64frombits(le.Uint64(b)), nil
	}
	return nil, fmt.Errorf("value type %d: %w", uint32(t), ErrValueType)
}

func (p *parser) array(et ValueType, n uint64, depth int) (any, error) {
	minSize := uint64(et.size())
	if et == TypeString || et == TypeArray {
		minSize = 8
	}
	if minSize == 0 {
		return nil, p.errorf(ErrValueType, "array of unknown value type %d", uint32(et))
	}
	if n > uint64(p.size-p.pos)/minSize {
		return nil, p.errorf(ErrTruncated, "an array of %d %v values at byte %d runs past the end of the file", n, et, p.pos)
	}
	switch et {
	case TypeString:
		out := make([]string, n)
		for i := range out {
			s, err := p.str()
			if err != nil {
				return nil, err
			}
			out[i] = s
		}
		return out, nil
	case TypeArray:
		out := make([]any, n)
		for i := range out {
			v, err := p.value(TypeArray, depth+1)
			if err != nil {
				return nil, err
			}
			out[i] = v
		}
		return out, nil
	}
	raw, err := p.read(int(n * minSize))
	if err != nil {
		return nil, err
	}
	sz := int(minSize)
	le := binary.LittleEndian
	switch et {
	case TypeUint8:
		return raw, nil
	case TypeInt8:
		return decodeArray(raw, n, sz, func(b []byte) int8 { return int8(b[0]) }), nil
	case TypeUint16:
		return decodeArray(raw, n, sz, le.Uint16), nil
	case TypeInt16:
		return decodeArray(raw, n, sz, func(b []byte) int16 { return int16(le.Uint16(b)) }), nil
	case TypeUint32:
		return decodeArray(raw, n, sz, le.Uint32), nil
	case TypeInt32:
		return decodeArray(raw, n, sz, func(b []byte) int32 { return int32(le.Uint32(b)) }), nil
	case TypeFloat32:
		return decodeArray(raw, n, sz, func(b []byte) float32 { return math.Float32frombits(le.Uint32(b)) }), nil
	case TypeBool:
		out := make([]bool, n)
		for i := range out {
			if raw[i] > 1 {
				return nil, p.errorf(ErrValueType, "bool byte %d is not 0 or 1", raw[i])
			}
			out[i] = raw[i] == 1
		}
		return out, nil
	case TypeUint64:
		return decodeArray(raw, n, sz, le.Uint64), nil
	case TypeInt64:
		return decodeArray(raw, n, sz, func(b []byte) int64 { return int64(le.Uint64(b)) }), nil
	case TypeFloat64:
		return decodeArray(raw, n, sz, func(b []byte) float64 { return math.Float64frombits(le.Uint64(b)) }), nil
	}
	return nil, p.errorf(ErrValueType, "array of value type %d", uint32(et))
}

// maxDims is ggml's largest number of dimensions.
const maxDims = 4

func (p *parser) tensorInfo() (TensorInfo, error) {
	var ti TensorInfo
	var err error
	if ti.Name, err = p.str(); err != nil {
		return ti, err
	}
	p.ctx = "tensor " + ti.Name
	nd, err := p.u32()
	if err != nil {
		return ti, err
	}
	if nd == 0 || nd > maxDims {
		return ti, p.errorf(ErrTensor, "%d dimensions (1 to %d)", nd, maxDims)
	}
	n := int64(1)
	for range nd {
		d, err := p.u64()
		if err != nil {
			return ti, err
		}
		if d == 0 || d > 1<<40 || n > (1<<50)/int64(d) {
			return ti, p.errorf(ErrTensor, "dimension %d is zero or too large", d)
		}
		n *= int64(d)
		ti.Dims = append(ti.Dims, d)
	}
	t, err := p.u32()
	if err != nil {
		return ti, err
	}
	ti.Type = TensorType(t)
	if !ti.Type.Supported() {
		return ti, p.errorf(ErrTensor, "element type %v is not supported (f32, f16, bf16, q8_0, q4_0)", ti.Type)
	}
	if vals, _ := ti.Type.blockSize(); ti.Dims[0]%uint64(vals) != 0 {
		return ti, p.errorf(ErrTensor, "row length %d is not a multiple of the %v block size %d", ti.Dims[0], ti.Type, vals)
	}
	if ti.Size, err = ti.Type.ByteSize(n); err != nil {
		return ti, p.errorf(ErrTensor, "%v", err)
	}
	if ti.Offset, err = p.u64(); err != nil {
		return ti, err
	}
	if ti.Offset%uint64(p.f.Alignment) != 0 {
		return ti, p.errorf(ErrTensor, "offset %d is not a multiple of the alignment %d", ti.Offset, p.f.Alignment)
	}
	return ti, nil
}

// checkData checks that every tensor's bytes lie inside the file and that no
// two tensors overlap.
func (p *parser) checkData() error {
	avail := max(p.size-p.f.dataStart, 0)
	idx := make([]int, len(p.f.tensors))
	for i := range idx {
		idx[i] = i
	}
	sort.Slice(idx, func(a, b int) bool { return p.f.tensors[idx[a]].Offset < p.f.tensors[idx[b]].Offset })
	var end uint64
	for k, i := range idx {
		ti := p.f.tensors[i]
		if ti.Offset > uint64(avail) || uint64(ti.Size) > uint64(avail)-ti.Offset {
			return fmt.Errorf("%stensor %s: its %d bytes at offset %d run past the end of the file (%d data bytes): %w",
				p.f.prefix(), ti.Name, ti.Size, ti.Offset, avail, ErrTruncated)
		}
		if k > 0 && ti.Offset < end {
			return fmt.Errorf("%stensor %s overlaps tensor %s: %w", p.f.prefix(), ti.Name, p.f.tensors[idx[k-1]].Name, ErrTensor)
		}
		end = ti.Offset + uint64(ti.Size)
	}
	return nil
}

// decodeArray decodes n little-endian values of sz bytes each from raw.
func decodeArray[T any](raw []byte, n uint64, sz int, dec func([]byte) T) []T {
	out := make([]T, n)
	for i := range out {
		out[i] = dec(raw[i*sz:])
	}
	return out
}
