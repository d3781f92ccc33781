package pth

import (
	"archive/zip"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"math"
	"strings"

	"github.com/minimind-go/minimind/model/safetensors"
)

// WriteTensor is one entry of a state dict to write.
type WriteTensor struct {
	Name  string
	Shape []int
	Data  []float32
	// SameAs, when set, names an earlier tensor whose storage this one
	// shares (a tied weight); Data is then ignored.
	SameAs string
}

// Write writes tensors as torch.save writes a state dict (an OrderedDict of
// contiguous tensors) in the zip format of PyTorch ≥ 1.6: archive/data.pkl
// (pickle protocol 2), one archive/data/<key> record per storage, aligned to
// 64 bytes, archive/byteorder and archive/version. dtype is F16 (MiniMind's
// checkpoints) or F32.
func Write(w io.Writer, tensors []WriteTensor, dtype safetensors.DType) error {
	storage := map[safetensors.DType]string{safetensors.F16: "HalfStorage", safetensors.F32: "FloatStorage"}[dtype]
	if storage == "" {
		return fmt.Errorf("pth: cannot write %s tensors (F16 or F32)", dtype)
	}
	cw := &countWriter{w: w}
	zw := zip.NewWriter(cw)
	keys := map[string]int{} // tensor name → storage key
	type rec struct {
		key   int
		shape []int
		numel int
	}
	var recs []rec
	var p pickler
	p.proto()
	p.global("collections", "OrderedDict")
	p.op(emptyTuple)
	p.op(reduce)
	for _, t := range tensors {
		n := 1
		for _, d := range t.Shape {
			if d < 0 {
				return fmt.Errorf("pth: tensor %s: negative dimension in %v", t.Name, t.Shape)
			}
			n *= d
		}
		key := len(recs)
		if t.SameAs != "" {
			k, ok := keys[t.SameAs]
			if !ok {
				return fmt.Errorf("pth: tensor %s shares the storage of %s, which is not written before it", t.Name, t.SameAs)
			}
			if recs[k].numel != n {
				return fmt.Errorf("pth: tensor %s has %d values, its storage %s %d", t.Name, n, t.SameAs, recs[k].numel)
			}
			key = k
		} else {
			if len(t.Data) != n {
				return fmt.Errorf("pth: tensor %s: shape %v needs %d values, got %d", t.Name, t.Shape, n, len(t.Data))
			}
			recs = append(recs, rec{key, t.Shape, n})
			raw := make([]byte, n*dtype.Size())
			if err := safetensors.EncodeFloat32(raw, t.Data, dtype); err != nil {
				return fmt.Errorf("pth: tensor %s: %w", t.Name, err)
			}
			if err := storeAligned(zw, cw, fmt.Sprintf("archive/data/%d", key), raw); err != nil {
				return fmt.Errorf("pth: tensor %s: %w", t.Name, err)
			}
		}
		keys[t.Name] = key
		// key: torch._utils._rebuild_tensor_v2(
		//   persistent ('storage', torch.<Storage>, '<key>', 'cpu', numel),
		//   offset 0, shape, contiguous strides, requires_grad False, OrderedDict())
		p.unicode(t.Name)
		p.global("torch._utils", "_rebuild_tensor_v2")
		p.op(mark)
		p.op(mark)
		p.unicode("storage")
		p.global("torch", storage)
		p.unicode(fmt.Sprint(key))
		p.unicode("cpu")
		p.int(int64(n))
		p.op(tuple)
		p.op(binpersid)
		p.int(0)
		p.ints(t.Shape)
		strides := make([]int, len(t.Shape))
		s := 1
		for i := len(t.Shape) - 1; i >= 0; i-- {
			strides[i] = s
			s *= t.Shape[i]
		}
		p.ints(strides)
		p.op(newFalse)
		p.global("collections", "OrderedDict")
		p.op(emptyTuple)
		p.op(reduce)
		p.op(tuple)
		p.op(reduce)
		p.op(setitem)
	}
	p.op(stop)
	for _, f := range []struct {
		name string
		data []byte
	}{{"archive/data.pkl", p.b}, {"archive/byteorder", []byte("little")}, {"archive/version", []byte("3\n")}} {
		if err := storeAligned(zw, cw, f.name, f.data); err != nil {
			return fmt.Errorf("pth: %w", err)
		}
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("pth: %w", err)
	}
	return nil
}

// storeAligned writes an uncompressed zip entry whose data starts at a
// multiple of 64 bytes (padding the local header's extra field, as torch does).
func storeAligned(zw *zip.Writer, cw *countWriter, name string, data []byte) error {
	if err := zw.Flush(); err != nil {
		return err
	}
	const hdr = 30 // fixed part of a local file header
	start := cw.n + hdr + int64(len(name)) + 4
	padLen := int((64 - start%64) % 64)
	extra := make([]byte, 4+padLen) // one extra field of id 0x4b46 ("FK") holding padding
	binary.LittleEndian.PutUint16(extra, 0x4b46)
	binary.LittleEndian.PutUint16(extra[2:], uint16(padLen))
	fh := &zip.FileHeader{Name: name, Method: zip.Store, CRC32: crc32.ChecksumIEEE(data),
		CompressedSize64: uint64(len(data)), UncompressedSize64: uint64(len(data)), Extra: extra}
	if len(data) >= math.MaxUint32 {
		return fmt.Errorf("%s: %d bytes is too large", name, len(data))
	}
	fw, err := zw.CreateRaw(fh)
	if err != nil {
		return err
	}
	_, err = fw.Write(data)
	return err
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Pickle opcodes used by Write.
const (
	mark       = '('
	stop       = '.'
	binint     = 'J'
	long1      = 0x8a
	binunicode = 'X'
	global     = 'c'
	emptyTuple = ')'
	tuple      = 't'
	reduce     = 'R'
	setitem    = 's'
	binpersid  = 'Q'
	newFalse   = 0x89
)

// pickler builds a protocol 2 pickle.
type pickler struct{ b []byte }

func (p *pickler) op(o byte) { p.b = append(p.b, o) }
func (p *pickler) proto()    { p.b = append(p.b, 0x80, 2) }

func (p *pickler) global(module, name string) {
	p.b = append(p.b, global)
	p.b = append(p.b, strings.ReplaceAll(module, "\n", "")+"\n"+strings.ReplaceAll(name, "\n", "")+"\n"...)
}

func (p *pickler) unicode(s string) {
	p.b = append(p.b, binunicode)
	p.b = binary.LittleEndian.AppendUint32(p.b, uint32(len(s)))
	p.b = append(p.b, s...)
}

func (p *pickler) int(v int64) {
	if v >= math.MinInt32 && v <= math.MaxInt32 {
		p.b = append(p.b, binint)
		p.b = binary.LittleEndian.AppendUint32(p.b, uint32(int32(v)))
		return
	}
	p.b = append(p.b, long1, 8)
	p.b = binary.LittleEndian.AppendUint64(p.b, uint64(v))
}

func (p *pickler) ints(xs []int) {
	p.op(mark)
	for _, x := range xs {
		p.int(int64(x))
	}
	p.op(tuple)
}
