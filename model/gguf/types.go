package gguf

import (
	"errors"
	"fmt"
)

// Magic is the first four bytes of every GGUF file.
const Magic = "GGUF"

// Version is the GGUF version this package writes (it reads 2 and 3).
const Version = 3

// DefaultAlignment is the tensor data alignment when general.alignment is absent.
const DefaultAlignment = 32

// Sentinel errors wrapped by the errors this package returns.
var (
	// ErrTruncated: the file ends inside the header or before a tensor's data.
	ErrTruncated = errors.New("truncated")
	// ErrFormat: bad magic, unsupported version, an impossible count or length.
	ErrFormat = errors.New("invalid GGUF")
	// ErrValueType: a metadata value of an unknown type, or of a type the reader did not expect.
	ErrValueType = errors.New("wrong metadata value type")
	// ErrMissing: a metadata key or a tensor that is not in the file.
	ErrMissing = errors.New("missing")
	// ErrTensor: a tensor with an unknown element type, a bad shape or out-of-range data.
	ErrTensor = errors.New("invalid tensor")
)

// ValueType is the type tag of a metadata value.
type ValueType uint32

// Metadata value types of the GGUF format.
const (
	TypeUint8   ValueType = 0
	TypeInt8    ValueType = 1
	TypeUint16  ValueType = 2
	TypeInt16   ValueType = 3
	TypeUint32  ValueType = 4
	TypeInt32   ValueType = 5
	TypeFloat32 ValueType = 6
	TypeBool    ValueType = 7
	TypeString  ValueType = 8
	TypeArray   ValueType = 9
	TypeUint64  ValueType = 10
	TypeInt64   ValueType = 11
	TypeFloat64 ValueType = 12
)

var valueTypeNames = [...]string{"uint8", "int8", "uint16", "int16", "uint32", "int32", "float32", "bool", "string", "array", "uint64", "int64", "float64"}

func (t ValueType) String() string {
	if int(t) < len(valueTypeNames) {
		return valueTypeNames[t]
	}
	return fmt.Sprintf("type %d", uint32(t))
}

// size is the encoded size of a scalar of type t (0 for string and array).
func (t ValueType) size() int {
	switch t {
	case TypeUint8, TypeInt8, TypeBool:
		return 1
	case TypeUint16, TypeInt16:
		return 2
	case TypeUint32, TypeInt32, TypeFloat32:
		return 4
	case TypeUint64, TypeInt64, TypeFloat64:
		return 8
	}
	return 0
}

// TensorType is ggml's element type of a tensor.
type TensorType uint32

// The ggml tensor types this package converts. Others are recognised by
// number in errors only.
const (
	F32  TensorType = 0
	F16  TensorType = 1
	Q4_0 TensorType = 2
	Q8_0 TensorType = 8
	BF16 TensorType = 30
)

// QK is the number of values in one Q8_0 or Q4_0 block.
const QK = 32

// Block sizes in bytes: an f16 scale and the quantized values.
const (
	Q8_0BlockBytes = 2 + QK   // 34
	Q4_0BlockBytes = 2 + QK/2 // 18
)

// ParseTensorType reads a type name as the --type flags spell it (f32, f16, q8_0, q4_0).
func ParseTensorType(s string) (TensorType, error) {
	switch s {
	case "f32", "F32":
		return F32, nil
	case "f16", "F16":
		return F16, nil
	case "q8_0", "Q8_0":
		return Q8_0, nil
	case "q4_0", "Q4_0":
		return Q4_0, nil
	}
	return 0, fmt.Errorf("gguf: unknown tensor type %q (f32, f16, q8_0 or q4_0)", s)
}

func (t TensorType) String() string {
	switch t {
	case F32:
		return "f32"
	case F16:
		return "f16"
	case Q4_0:
		return "q4_0"
	case Q8_0:
		return "q8_0"
	case BF16:
		return "bf16"
	}
	return fmt.Sprintf("ggml type %d", uint32(t))
}

// Supported reports whether the package converts tensors of type t.
func (t TensorType) Supported() bool {
	switch t {
	case F32, F16, Q4_0, Q8_0, BF16:
		return true
	}
	return false
}

// blockSize returns the values per block and the bytes per block of t.
func (t TensorType) blockSize() (values, bytes int) {
	switch t {
	case F32:
		return 1, 4
	case F16, BF16:
		return 1, 2
	case Q8_0:
		return QK, Q8_0BlockBytes
	case Q4_0:
		return QK, Q4_0BlockBytes
	}
	return 0, 0
}

// ByteSize returns the stored size of n values of type t, or an error when
// t is unsupported or n is not a whole number of blocks.
func (t TensorType) ByteSize(n int64) (int64, error) {
	vals, bytes := t.blockSize()
	if vals == 0 {
		return 0, fmt.Errorf("%w: unsupported element type %v", ErrTensor, t)
	}
	if n%int64(vals) != 0 {
		return 0, fmt.Errorf("%w: %d values are not a whole number of %v blocks of %d", ErrTensor, n, t, vals)
	}
	return n / int64(vals) * int64(bytes), nil
}

// FileType is general.file_type: the type most tensors have.
func FileType(t TensorType) uint32 {
	switch t {
	case F16:
		return 1
	case Q4_0:
		return 2
	case Q8_0:
		return 7
	case BF16:
		return 32
	}
	return 0
}
