package gguf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// Tensor is a tensor to write.
type Tensor struct {
	Name string
	// Shape is row-major (slowest first), as in PyTorch: a Linear weight is
	// [out, in]. It is stored reversed, as ggml's dimensions.
	Shape []int
	Type  TensorType
	// Data holds the values; they are converted to Type while writing.
	Data []float32
}

// typeOf returns the GGUF type of a Go metadata value.
func typeOf(v any) (ValueType, bool) {
	switch v.(type) {
	case uint8:
		return TypeUint8, true
	case int8:
		return TypeInt8, true
	case uint16:
		return TypeUint16, true
	case int16:
		return TypeInt16, true
	case uint32:
		return TypeUint32, true
	case int32:
		return TypeInt32, true
	case float32:
		return TypeFloat32, true
	case bool:
		return TypeBool, true
	case string:
		return TypeString, true
	case uint64:
		return TypeUint64, true
	case int64:
		return TypeInt64, true
	case float64:
		return TypeFloat64, true
	case []uint8, []int8, []uint16, []int16, []uint32, []int32, []float32, []bool, []string,
		[]uint64, []int64, []float64, []any:
		return TypeArray, true
	}
	return 0, false
}

// Write writes a GGUF v3 file: the metadata in the order given (with
// general.alignment = 32 unless kvs sets it), the tensor table and the
// tensors' data, each converted to its Type and aligned.
func Write(w io.Writer, kvs []KV, tensors []Tensor) error {
	bw := bufio.NewWriterSize(w, 1<<20)
	ew := &errWriter{w: bw}
	align := DefaultAlignment
	seen := map[string]bool{}
	for _, kv := range kvs {
		if seen[kv.Key] {
			return fmt.Errorf("gguf: key %s is given twice", kv.Key)
		}
		seen[kv.Key] = true
		if _, ok := typeOf(kv.Value); !ok {
			return fmt.Errorf("gguf: key %s: a %T cannot be stored: %w", kv.Key, kv.Value, ErrValueType)
		}
		if kv.Key == "general.alignment" {
			a, ok := kv.Value.(uint32)
			if !ok || a == 0 || a&(a-1) != 0 {
				return fmt.Errorf("gguf: key general.alignment must be a uint32 power of two: %w", ErrValueType)
			}
			align = int(a)
		}
	}
	sizes := make([]int64, len(tensors))
	names := map[string]bool{}
	for i, t := range tensors {
		if names[t.Name] {
			return fmt.Errorf("gguf: tensor %s is given twice: %w", t.Name, ErrTensor)
		}
		names[t.Name] = true
		if len(t.Shape) == 0 || len(t.Shape) > maxDims {
			return fmt.Errorf("gguf: tensor %s: %d dimensions (1 to %d): %w", t.Name, len(t.Shape), maxDims, ErrTensor)
		}
		n := 1
		for _, d := range t.Shape {
			if d <= 0 {
				return fmt.Errorf("gguf: tensor %s: shape %v: %w", t.Name, t.Shape, ErrTensor)
			}
			n *= d
		}
		if n != len(t.Data) {
			return fmt.Errorf("gguf: tensor %s: shape %v needs %d values, got %d: %w", t.Name, t.Shape, n, len(t.Data), ErrTensor)
		}
		if vals, _ := t.Type.blockSize(); vals == 0 || t.Shape[len(t.Shape)-1]%vals != 0 {
			return fmt.Errorf("gguf: tensor %s: type %v does not fit rows of %d values: %w", t.Name, t.Type, t.Shape[len(t.Shape)-1], ErrTensor)
		}
		var err error
		if sizes[i], err = t.Type.ByteSize(int64(n)); err != nil {
			return fmt.Errorf("gguf: tensor %s: %w", t.Name, err)
		}
	}

	ew.bytes([]byte(Magic))
	ew.u32(Version)
	ew.u64(uint64(len(tensors)))
	ew.u64(uint64(len(kvs)))
	for _, kv := range kvs {
		ew.str(kv.Key)
		t, _ := typeOf(kv.Value)
		ew.u32(uint32(t))
		if err := ew.value(kv.Value); err != nil {
			return fmt.Errorf("gguf: key %s: %w", kv.Key, err)
		}
	}
	var off int64
	for i, t := range tensors {
		ew.str(t.Name)
		ew.u32(uint32(len(t.Shape)))
		for j := len(t.Shape) - 1; j >= 0; j-- {
			ew.u64(uint64(t.Shape[j]))
		}
		ew.u32(uint32(t.Type))
		ew.u64(uint64(off))
		off += pad(sizes[i], align)
	}
	ew.zeros(pad(ew.n, align) - ew.n)
	for i, t := range tensors {
		buf := make([]byte, sizes[i])
		if err := Encode(buf, t.Data, t.Type); err != nil {
			return fmt.Errorf("gguf: tensor %s: %w", t.Name, err)
		}
		ew.bytes(buf)
		ew.zeros(pad(sizes[i], align) - sizes[i])
	}
	if ew.err != nil {
		return fmt.Errorf("gguf: %w", ew.err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("gguf: %w", err)
	}
	return nil
}

func pad(n int64, align int) int64 { a := int64(align); return (n + a - 1) / a * a }

// errWriter keeps the first write error and counts bytes.
type errWriter struct {
	w   io.Writer
	n   int64
	err error
	b   [8]byte
}

func (e *errWriter) bytes(p []byte) {
	if e.err != nil {
		return
	}
	n, err := e.w.Write(p)
	e.n += int64(n)
	e.err = err
}

func (e *errWriter) zeros(n int64) { e.bytes(make([]byte, n)) }
func (e *errWriter) u8(v uint8)    { e.bytes([]byte{v}) }
func (e *errWriter) u16(v uint16)  { binary.LittleEndian.PutUint16(e.b[:], v); e.bytes(e.b[:2]) }
func (e *errWriter) u32(v uint32)  { binary.LittleEndian.PutUint32(e.b[:], v); e.bytes(e.b[:4]) }
func (e *errWriter) u64(v uint64)  { binary.LittleEndian.PutUint64(e.b[:], v); e.bytes(e.b[:8]) }
func (e *errWriter) str(s string)  { e.u64(uint64(len(s))); e.bytes([]byte(s)) }

func (e *errWriter) value(v any) error {
	switch x := v.(type) {
	case uint8:
		e.u8(x)
	case int8:
		e.u8(uint8(x))
	case uint16:
		e.u16(x)
	case int16:
		e.u16(uint16(x))
	case uint32:
		e.u32(x)
	case int32:
		e.u32(uint32(x))
	case float32:
		e.u32(math.Float32bits(x))
	case bool:
		if x {
			e.u8(1)
		} else {
			e.u8(0)
		}
	case string:
		e.str(x)
	case uint64:
		e.u64(x)
	case int64:
		e.u64(uint64(x))
	case float64:
		e.u64(math.Float64bits(x))
	case []uint8:
		return arrayOf(e, TypeUint8, x)
	case []int8:
		return arrayOf(e, TypeInt8, x)
	case []uint16:
		return arrayOf(e, TypeUint16, x)
	case []int16:
		return arrayOf(e, TypeInt16, x)
	case []uint32:
		return arrayOf(e, TypeUint32, x)
	case []int32:
		return arrayOf(e, TypeInt32, x)
	case []float32:
		return arrayOf(e, TypeFloat32, x)
	case []bool:
		return arrayOf(e, TypeBool, x)
	case []string:
		return arrayOf(e, TypeString, x)
	case []uint64:
		return arrayOf(e, TypeUint64, x)
	case []int64:
		return arrayOf(e, TypeInt64, x)
	case []float64:
		return arrayOf(e, TypeFloat64, x)
	case []any:
		// An array of arrays: every element must itself be an array.
		e.u32(uint32(TypeArray))
		e.u64(uint64(len(x)))
		for i, el := range x {
			t, ok := typeOf(el)
			if !ok || t != TypeArray {
				return fmt.Errorf("element %d of an array of arrays is a %T: %w", i, el, ErrValueType)
			}
			if err := e.value(el); err != nil {
				return err
			}
		}
	default:
		return fmt.Errorf("a %T cannot be stored: %w", v, ErrValueType)
	}
	return nil
}

func arrayOf[T any](e *errWriter, et ValueType, xs []T) error {
	e.u32(uint32(et))
	e.u64(uint64(len(xs)))
	for _, x := range xs {
		if err := e.value(x); err != nil {
			return err
		}
	}
	return nil
}
