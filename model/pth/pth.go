package pth

import (
	"archive/zip"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"math/big"
	"os"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/minimind-go/minimind/model/safetensors"
)

// MaxPickleSize bounds the size of data.pkl (a state dict's pickle is a few hundred bytes
// per tensor).
const MaxPickleSize = 256 << 20

// maxDepth bounds the nesting of dicts and lists that are flattened into names.
const maxDepth = 64

// chunkElems is how many elements a contiguous read converts at a time.
const chunkElems = 1 << 18

// Tensor is one tensor with its data converted to float32. It has the same fields as
// [safetensors.Tensor], so safetensors.Tensor(t) converts it.
type Tensor struct {
	// Name is the flattened name: the dict keys on the path, joined with dots.
	Name string
	// DType is the element type of the storage, in safetensors' spelling (F16, BF16, F32, ...).
	DType safetensors.DType
	// Shape lists the dimensions, outermost first; empty for a scalar.
	Shape []int
	// Data holds the elements in row-major order: len(Data) is the product of Shape.
	Data []float32
}

// TensorInfo describes one tensor of a [File] without reading its data.
type TensorInfo struct {
	// Name is the flattened name: the dict keys on the path, joined with dots.
	Name string
	// DType is the element type of the storage, in safetensors' spelling.
	DType safetensors.DType
	// Shape lists the dimensions, outermost first; empty for a scalar.
	Shape []int
	// Stride gives, per dimension, the step in storage elements.
	Stride []int
	// Offset is the index of the first element in the storage.
	Offset int64
	// Storage is the key of the storage record (several tensors may share one).
	Storage string
}

// NumElements returns the product of the shape (1 for a scalar).
func (ti TensorInfo) NumElements() int {
	n := 1
	for _, d := range ti.Shape {
		n *= d
	}
	return n
}

// Contiguous reports whether the view is row-major with no gaps, so its data is one run of
// the storage.
func (ti TensorInfo) Contiguous() bool {
	want := 1
	for i := len(ti.Shape) - 1; i >= 0; i-- {
		if ti.Shape[i] != 1 && ti.Stride[i] != want {
			return false
		}
		want *= ti.Shape[i]
	}
	return true
}

// Object stands for an instance of a class this reader does not know (it is never
// constructed); [File.Values] reports it under the name where it appeared.
type Object struct {
	// Module and Name spell the class, as in "collections" and "OrderedDict".
	Module, Name string
}

// File is an opened checkpoint whose structure has been decoded and checked; tensor data
// is read on demand. A File is safe for concurrent use by several goroutines.
type File struct {
	name      string
	r         io.ReaderAt
	size      int64
	closer    io.Closer
	prefix    string // "<archive>/"
	bigEndian bool
	records   map[string]*zip.File
	tensors   []entry
	index     map[string]int
	values    map[string]any
}

type entry struct {
	info   TensorInfo
	record *zip.File
}

// ReadFile reads every tensor of the checkpoint at path, in the order they were saved.
func ReadFile(path string) ([]Tensor, error) {
	f, err := Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return f.ReadAll(context.Background())
}

// Read reads every tensor of the size-byte checkpoint readable through r. name is only
// used in error messages.
func Read(r io.ReaderAt, size int64, name string) ([]Tensor, error) {
	f, err := NewReader(r, size, name)
	if err != nil {
		return nil, err
	}
	return f.ReadAll(context.Background())
}

// Open opens the checkpoint at path and decodes its structure. Close the File when done.
func Open(path string) (*File, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("pth: %w", err)
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, fmt.Errorf("pth: %w", err)
	}
	f, err := NewReader(fh, st.Size(), path)
	if err != nil {
		fh.Close()
		return nil, err
	}
	f.closer = fh
	return f, nil
}

// OpenFS opens the checkpoint name in fsys (an embed.FS, for instance). Files that
// implement io.ReaderAt are read lazily; others are read into memory first.
func OpenFS(fsys fs.FS, name string) (*File, error) {
	fh, err := fsys.Open(name)
	if err != nil {
		return nil, fmt.Errorf("pth: %w", err)
	}
	st, err := fh.Stat()
	if err != nil {
		fh.Close()
		return nil, fmt.Errorf("pth: %w", err)
	}
	if ra, ok := fh.(io.ReaderAt); ok {
		f, err := NewReader(ra, st.Size(), name)
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
		return nil, fmt.Errorf("pth %s: %w", name, err)
	}
	return NewReader(bytes.NewReader(data), int64(len(data)), name)
}

// NewReader decodes the structure of the size-byte checkpoint readable through r. name is
// only used in error messages. r must stay readable for as long as the File is used.
func NewReader(r io.ReaderAt, size int64, name string) (*File, error) {
	f := &File{name: name, r: r, size: size, index: make(map[string]int), values: make(map[string]any)}
	if err := f.load(); err != nil {
		return nil, fmt.Errorf("%s: %w", f.label(), err)
	}
	return f, nil
}

func (f *File) label() string {
	if f.name == "" {
		return "pth"
	}
	return "pth " + f.name
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

// Names returns the tensor names in the order they were saved.
func (f *File) Names() []string {
	out := make([]string, len(f.tensors))
	for i, e := range f.tensors {
		out[i] = e.info.Name
	}
	return out
}

// Tensors returns the description of every tensor, in the order they were saved.
func (f *File) Tensors() []TensorInfo {
	out := make([]TensorInfo, len(f.tensors))
	for i, e := range f.tensors {
		out[i] = e.info.clone()
	}
	return out
}

// Info returns the description of the named tensor.
func (f *File) Info(name string) (TensorInfo, bool) {
	i, ok := f.index[name]
	if !ok {
		return TensorInfo{}, false
	}
	return f.tensors[i].info.clone(), true
}

func (ti TensorInfo) clone() TensorInfo {
	ti.Shape = slices.Clone(ti.Shape)
	ti.Stride = slices.Clone(ti.Stride)
	return ti
}

// Values returns the checkpoint's non-tensor leaves under their flattened names, such as
// "epoch" or "optimizer.param_groups.0.lr" in a resume file. A value is nil, bool, int64,
// *big.Int, float64, string, []byte or [Object].
func (f *File) Values() map[string]any {
	out := make(map[string]any, len(f.values))
	for k, v := range f.values {
		out[k] = v
	}
	return out
}

// Float32 reads the named tensor and converts it to float32 (row-major, len = product of
// the shape).
func (f *File) Float32(name string) ([]float32, error) {
	i, ok := f.index[name]
	if !ok {
		return nil, fmt.Errorf("%s: entry %q: %w", f.label(), name, ErrNotFound)
	}
	data, err := f.read(context.Background(), f.tensors[i])
	if err != nil {
		return nil, fmt.Errorf("%s: entry %q: %w", f.label(), name, err)
	}
	return data, nil
}

// ReadAll reads every tensor, in the order they were saved. It stops early when ctx is
// cancelled.
func (f *File) ReadAll(ctx context.Context) ([]Tensor, error) {
	out := make([]Tensor, 0, len(f.tensors))
	for _, e := range f.tensors {
		data, err := f.read(ctx, e)
		if err != nil {
			return nil, fmt.Errorf("%s: entry %q: %w", f.label(), e.info.Name, err)
		}
		out = append(out, Tensor{Name: e.info.Name, DType: e.info.DType, Shape: slices.Clone(e.info.Shape), Data: data})
	}
	return out, nil
}

// load finds the archive's records, runs data.pkl and flattens what it built.
func (f *File) load() error {
	zr, err := zip.NewReader(f.r, f.size)
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		var head [2]byte
		if n, _ := f.r.ReadAt(head[:], 0); n == 2 && head[0] == opProto && head[1] <= 5 {
			return ErrLegacyFormat
		}
		return fmt.Errorf("%v: %w", err, ErrFormat)
	}
	f.records = make(map[string]*zip.File, len(zr.File))
	var pkl *zip.File
	for _, zf := range zr.File {
		if _, dup := f.records[zf.Name]; dup {
			return fmt.Errorf("zip entry %q appears twice: %w", zf.Name, ErrFormat)
		}
		f.records[zf.Name] = zf
		dir, base := path.Split(zf.Name)
		if base == "data.pkl" && strings.Count(dir, "/") == 1 {
			if pkl != nil {
				return fmt.Errorf("two data.pkl entries (%q, %q): %w", pkl.Name, zf.Name, ErrFormat)
			}
			pkl = zf
			f.prefix = dir
		}
	}
	if pkl == nil {
		return fmt.Errorf("no <archive>/data.pkl entry: %w", ErrFormat)
	}
	if bo, ok := f.records[f.prefix+"byteorder"]; ok {
		b, err := f.readSmall(bo, 16)
		if err != nil {
			return fmt.Errorf("%s: %w", bo.Name, err)
		}
		switch strings.TrimSpace(string(b)) {
		case "little":
		case "big":
			f.bigEndian = true
		default:
			return fmt.Errorf("%s: byte order %q: %w", bo.Name, b, ErrFormat)
		}
	}
	prog, err := f.readSmall(pkl, MaxPickleSize)
	if err != nil {
		return fmt.Errorf("%s: %w", pkl.Name, err)
	}
	storages := make(map[string]*pStorage)
	root, err := unpickle(prog, func(pid any) (any, error) { return f.persistentLoad(pid, storages) })
	if err != nil {
		return fmt.Errorf("%s: %w", pkl.Name, err)
	}
	fl := flattener{f: f, onPath: make(map[any]bool), budget: 8*int64(len(prog)) + 1<<20}
	return fl.walk(root, "", 0)
}

// readSmall reads a whole record of at most limit bytes.
func (f *File) readSmall(zf *zip.File, limit int64) ([]byte, error) {
	if zf.UncompressedSize64 > uint64(limit) {
		return nil, fmt.Errorf("%d bytes, more than the %d allowed: %w", zf.UncompressedSize64, limit, ErrFormat)
	}
	if err := f.checkRecord(zf); err != nil {
		return nil, err
	}
	rc, err := zf.Open()
	if err != nil {
		return nil, fmt.Errorf("%v: %w", err, ErrFormat)
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, limit))
	if err != nil {
		return nil, fmt.Errorf("%v: %w", err, ErrFormat)
	}
	if uint64(len(b)) != zf.UncompressedSize64 {
		return nil, fmt.Errorf("read %d of %d bytes: %w", len(b), zf.UncompressedSize64, ErrFormat)
	}
	return b, nil
}

// checkRecord bounds what a record claims to hold by what the archive can really hold,
// so that no claim leads to a huge allocation.
func (f *File) checkRecord(zf *zip.File) error {
	switch zf.Method {
	case zip.Store:
		off, err := zf.DataOffset()
		if err != nil {
			return fmt.Errorf("%v: %w", err, ErrFormat)
		}
		if zf.CompressedSize64 != zf.UncompressedSize64 || off < 0 || off > f.size || zf.CompressedSize64 > uint64(f.size-off) {
			return fmt.Errorf("stored record of %d bytes does not fit the %d-byte file: %w", zf.UncompressedSize64, f.size, ErrFormat)
		}
	case zip.Deflate:
		// Deflate cannot expand data more than about 1032 times.
		if zf.CompressedSize64 > uint64(f.size) || zf.UncompressedSize64 > 1040*zf.CompressedSize64+1024 {
			return fmt.Errorf("deflated record claims %d bytes from %d: %w", zf.UncompressedSize64, zf.CompressedSize64, ErrFormat)
		}
	default:
		return fmt.Errorf("compression method %d: %w", zf.Method, ErrFormat)
	}
	return nil
}

// persistentLoad resolves ('storage', storage_type, key, location, numel). The record
// itself is checked when a tensor uses the storage, so that the error can name the entry.
func (f *File) persistentLoad(pid any, storages map[string]*pStorage) (any, error) {
	t, ok := pid.(pTuple)
	if !ok || len(t) != 5 || t[0] != "storage" {
		return nil, fmt.Errorf("persistent id %s is not ('storage', type, key, location, numel): %w", typeName(pid), ErrPickle)
	}
	g, ok1 := t[1].(pGlobal)
	key, ok2 := t[2].(string)
	loc, ok3 := t[3].(string)
	numel, ok4 := t[4].(int64)
	if !ok1 || !ok2 || !ok3 || !ok4 || numel < 0 {
		return nil, fmt.Errorf("malformed storage persistent id: %w", ErrPickle)
	}
	st := &pStorage{key: key, location: loc, numel: numel, class: g.module + "." + g.name}
	if g.module == "torch" || g.module == "torch.storage" {
		st.dtype = storageDTypes[g.name] // "" when unsupported: reported by checkStorage
	}
	if prev, ok := storages[key]; ok {
		if prev.class != st.class || prev.numel != numel {
			return nil, fmt.Errorf("storage %q declared both as %s[%d] and %s[%d]: %w", key, prev.class, prev.numel, st.class, numel, ErrStorage)
		}
		return prev, nil
	}
	storages[key] = st
	return st, nil
}

// checkStorage checks, once per storage, that its type is known and that its record exists
// and holds exactly numel elements.
func (f *File) checkStorage(st *pStorage) error {
	if st.checked {
		return st.err
	}
	st.checked = true
	st.err = func() error {
		if st.dtype == "" {
			return fmt.Errorf("storage %q: type %s: %w", st.key, st.class, ErrUnsupported)
		}
		name := f.prefix + "data/" + st.key
		rec, ok := f.records[name]
		if !ok {
			return fmt.Errorf("storage %q: no record %q: %w", st.key, name, ErrStorage)
		}
		if err := f.checkRecord(rec); err != nil {
			return fmt.Errorf("storage %q: %w", st.key, err)
		}
		size := int64(safetensors.DType(st.dtype).Size())
		if st.numel > int64(rec.UncompressedSize64)/size || uint64(st.numel*size) != rec.UncompressedSize64 {
			return fmt.Errorf("storage %q: record holds %d bytes, %s[%d] needs %d: %w", st.key, rec.UncompressedSize64, st.dtype, st.numel, st.numel*size, ErrStorage)
		}
		st.record = rec
		return nil
	}()
	return st.err
}

// flattener turns the unpickled object into named tensors and values.
type flattener struct {
	f      *File
	onPath map[any]bool // containers on the current path, to refuse cycles
	budget int64        // name bytes left, so that shared sub-structures cannot explode
}

func (fl *flattener) walk(v any, name string, depth int) error {
	if depth > maxDepth {
		return fmt.Errorf("entry %q: nested deeper than %d: %w", name, maxDepth, ErrPickle)
	}
	fl.budget -= int64(len(name)) + 16
	if fl.budget < 0 {
		return fmt.Errorf("entry %q: the object expands to too many or too long names: %w", name, ErrPickle)
	}
	switch x := v.(type) {
	case *pTensor:
		return fl.addTensor(name, x)
	case *pDict, *pList:
		if fl.onPath[x] {
			return fmt.Errorf("entry %q: the object contains itself: %w", name, ErrPickle)
		}
		fl.onPath[x] = true
		defer delete(fl.onPath, x)
	}
	switch x := v.(type) {
	case *pDict:
		for i, k := range x.keys {
			ks, err := keyName(k)
			if err != nil {
				return fmt.Errorf("entry %q: %w", name, err)
			}
			if err := fl.walk(x.vals[i], join(name, ks), depth+1); err != nil {
				return err
			}
		}
	case *pList:
		for i, it := range x.items {
			if err := fl.walk(it, join(name, strconv.Itoa(i)), depth+1); err != nil {
				return err
			}
		}
	case pTuple:
		for i, it := range x {
			if err := fl.walk(it, join(name, strconv.Itoa(i)), depth+1); err != nil {
				return err
			}
		}
	case *pObject:
		return fl.addValue(name, Object{Module: x.class.module, Name: x.class.name})
	case pGlobal:
		return fl.addValue(name, Object{Module: x.module, Name: x.name})
	case *pStorage:
		return fl.addValue(name, Object{Module: "torch", Name: "storage"})
	case nil, bool, int64, *big.Int, float64, string, []byte:
		return fl.addValue(name, x)
	default:
		return fmt.Errorf("entry %q: unexpected %s: %w", name, typeName(v), ErrPickle)
	}
	return nil
}

func join(prefix, key string) string {
	if prefix == "" {
		return key
	}
	return prefix + "." + key
}

// keyName spells a dict key as a name component.
func keyName(k any) (string, error) {
	switch v := k.(type) {
	case string:
		return v, nil
	case int64:
		return strconv.FormatInt(v, 10), nil
	case *big.Int:
		return v.String(), nil
	case bool:
		return strconv.FormatBool(v), nil
	case float64:
		return strconv.FormatFloat(v, 'g', -1, 64), nil
	case nil:
		return "None", nil
	}
	return "", fmt.Errorf("dict key of type %s cannot name an entry: %w", typeName(k), ErrPickle)
}

func (fl *flattener) taken(name string) bool {
	if _, ok := fl.f.index[name]; ok {
		return true
	}
	_, ok := fl.f.values[name]
	return ok
}

func (fl *flattener) addValue(name string, v any) error {
	if fl.taken(name) {
		return fmt.Errorf("entry %q: %w", name, ErrDuplicate)
	}
	fl.f.values[name] = v
	return nil
}

// addTensor checks the view against its storage and records it.
func (fl *flattener) addTensor(name string, t *pTensor) error {
	if fl.taken(name) {
		return fmt.Errorf("entry %q: %w", name, ErrDuplicate)
	}
	fail := func(format string, args ...any) error {
		return fmt.Errorf("entry %q: %w", name, fmt.Errorf(format, args...))
	}
	st := t.storage
	if err := fl.f.checkStorage(st); err != nil {
		return fail("%w", err)
	}
	if len(t.shape) != len(t.stride) {
		return fail("%d sizes but %d strides: %w", len(t.shape), len(t.stride), ErrPickle)
	}
	if t.offset < 0 {
		return fail("negative storage offset %d: %w", t.offset, ErrStorage)
	}
	// numel and the last element's index, with every product bounded by the storage size.
	numel, last := int64(1), t.offset // last: storage index of the view's last element
	empty := false
	for i, d := range t.shape {
		if d < 0 || t.stride[i] < 0 {
			return fail("size %v, stride %v: negative: %w", t.shape, t.stride, ErrStride)
		}
		if d == 0 {
			empty = true
		}
	}
	if !empty {
		for i, d := range t.shape {
			if d > st.numel || numel > st.numel/d {
				return fail("size %v holds more elements than storage %q (%d): %w", t.shape, st.key, st.numel, ErrStride)
			}
			numel *= d
			// last + (d-1)*stride must stay below numel(storage); test it without overflow.
			if last >= st.numel || (t.stride[i] > 0 && d-1 > (st.numel-1-last)/t.stride[i]) {
				return fail("view (offset %d, size %v, stride %v) runs past storage %q of %d elements: %w", t.offset, t.shape, t.stride, st.key, st.numel, ErrStorage)
			}
			last += (d - 1) * t.stride[i]
		}
	} else {
		numel = 0
	}
	info := TensorInfo{
		Name: name, DType: safetensors.DType(st.dtype), Offset: t.offset, Storage: st.key,
		Shape: make([]int, len(t.shape)), Stride: make([]int, len(t.stride)),
	}
	for i := range t.shape {
		info.Shape[i], info.Stride[i] = int(t.shape[i]), int(t.stride[i])
	}
	if numel > 0 && !info.Contiguous() && !distinctOffsets(info) {
		return fail("size %v, stride %v address some storage elements twice (expanded view); save a .contiguous() copy: %w", t.shape, t.stride, ErrStride)
	}
	if !info.DType.Convertible() {
		return fail("dtype %s: %w", info.DType, ErrUnsupported)
	}
	fl.f.index[name] = len(fl.f.tensors)
	fl.f.tensors = append(fl.f.tensors, entry{info: info, record: st.record})
	return nil
}

// distinctOffsets reports whether a view's elements sit at distinct storage positions:
// sorting the dimensions of size > 1 by stride, each stride must step over everything the
// smaller ones span. (Sufficient, and exact for the views torch creates by slicing,
// transposing and permuting.)
func distinctOffsets(ti TensorInfo) bool {
	type dim struct{ size, stride int }
	var dims []dim
	for i, s := range ti.Shape {
		if s > 1 {
			dims = append(dims, dim{s, ti.Stride[i]})
		}
	}
	slices.SortFunc(dims, func(a, b dim) int { return a.stride - b.stride })
	span := 1 // elements covered by the dims so far: index range [0, span)
	for _, d := range dims {
		if d.stride < span {
			return false
		}
		span = d.stride*(d.size-1) + span
	}
	return true
}

// read converts one tensor's elements to float32.
func (f *File) read(ctx context.Context, e entry) ([]float32, error) {
	ti := e.info
	numel := ti.NumElements()
	out := make([]float32, numel) // [numel]
	if numel == 0 {
		return out, nil
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if e.record == nil {
		return nil, fmt.Errorf("storage %q has no record: %w", ti.Storage, ErrStorage)
	}
	size := int64(ti.DType.Size())
	if ti.Contiguous() {
		rd, closeFn, err := f.recordAt(e.record, ti.Offset*size, int64(numel)*size)
		if err != nil {
			return nil, fmt.Errorf("storage %q: %w", ti.Storage, err)
		}
		defer closeFn()
		buf := make([]byte, min(chunkElems, numel)*int(size)) // [chunk elements * size]
		for done := 0; done < numel; {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			k := min(numel-done, chunkElems)
			raw := buf[:k*int(size)]
			if _, err := io.ReadFull(rd, raw); err != nil {
				return nil, fmt.Errorf("storage %q: %v: %w", ti.Storage, err, ErrStorage)
			}
			if err := f.decode(out[done:done+k], raw, ti.DType); err != nil {
				return nil, err
			}
			done += k
		}
		return out, nil
	}
	// Non-contiguous: convert the span the view touches, then gather by strides.
	last := ti.Offset
	for i, d := range ti.Shape {
		last += int64(d-1) * int64(ti.Stride[i])
	}
	spanN := last - ti.Offset + 1
	rd, closeFn, err := f.recordAt(e.record, ti.Offset*size, spanN*size)
	if err != nil {
		return nil, fmt.Errorf("storage %q: %w", ti.Storage, err)
	}
	defer closeFn()
	raw := make([]byte, spanN*size) // [spanN * size]
	if _, err := io.ReadFull(rd, raw); err != nil {
		return nil, fmt.Errorf("storage %q: %v: %w", ti.Storage, err, ErrStorage)
	}
	span := make([]float32, spanN) // [spanN] storage elements offset..last
	if err := f.decode(span, raw, ti.DType); err != nil {
		return nil, err
	}
	idx := make([]int, len(ti.Shape)) // multi-index of out[i], row-major
	pos := 0                          // storage position of out[i], relative to Offset
	for i := range out {
		out[i] = span[pos]
		for d := len(idx) - 1; d >= 0; d-- {
			idx[d]++
			pos += ti.Stride[d]
			if idx[d] < ti.Shape[d] {
				break
			}
			pos -= ti.Stride[d] * idx[d]
			idx[d] = 0
		}
	}
	return out, nil
}

// decode converts raw storage bytes, swapping them first if the archive is big-endian.
func (f *File) decode(dst []float32, raw []byte, dt safetensors.DType) error {
	if f.bigEndian {
		size := dt.Size()
		for i := 0; i+size <= len(raw); i += size {
			slices.Reverse(raw[i : i+size])
		}
	}
	return safetensors.DecodeFloat32(dst, raw, dt)
}

// recordAt returns a reader of n bytes of the record starting at byte off.
func (f *File) recordAt(zf *zip.File, off, n int64) (io.Reader, func(), error) {
	if off < 0 || n < 0 || uint64(off+n) > zf.UncompressedSize64 {
		return nil, nil, fmt.Errorf("bytes [%d, %d) outside the %d-byte record: %w", off, off+n, zf.UncompressedSize64, ErrStorage)
	}
	if zf.Method == zip.Store {
		start, err := zf.DataOffset()
		if err != nil {
			return nil, nil, fmt.Errorf("%v: %w", err, ErrFormat)
		}
		return io.NewSectionReader(f.r, start+off, n), func() {}, nil
	}
	rc, err := zf.Open()
	if err != nil {
		return nil, nil, fmt.Errorf("%v: %w", err, ErrFormat)
	}
	if _, err := io.CopyN(io.Discard, rc, off); err != nil {
		rc.Close()
		return nil, nil, fmt.Errorf("%v: %w", err, ErrStorage)
	}
	return io.LimitReader(rc, n), func() { rc.Close() }, nil
}
