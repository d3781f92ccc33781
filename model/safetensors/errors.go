package safetensors

import "errors"

// Sentinel errors wrapped by the errors this package returns; test with errors.Is.
var (
	// ErrTruncated: the file ends before the header or the data it announces.
	ErrTruncated = errors.New("truncated")
	// ErrHeader: the header length or JSON is malformed, or a tensor entry lacks a field.
	ErrHeader = errors.New("invalid header")
	// ErrDType: a dtype the format does not define.
	ErrDType = errors.New("unknown dtype")
	// ErrShape: a negative dimension, or a shape whose size overflows.
	ErrShape = errors.New("invalid shape")
	// ErrOffsets: data_offsets out of range, overlapping, leaving gaps, or not matching dtype×shape.
	ErrOffsets = errors.New("invalid data offsets")
	// ErrDuplicate: the same tensor name twice.
	ErrDuplicate = errors.New("duplicate tensor name")
	// ErrNotFound: no tensor of that name.
	ErrNotFound = errors.New("tensor not found")
	// ErrConvert: a dtype that cannot be converted to or from float32.
	ErrConvert = errors.New("unsupported dtype conversion")
)
