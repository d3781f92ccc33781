package pth

import "errors"

// Sentinel errors wrapped by the errors this package returns; test with errors.Is.
var (
	// ErrFormat: not a torch.save zip archive, or one missing its data.pkl or records.
	ErrFormat = errors.New("not a PyTorch zip checkpoint")
	// ErrLegacyFormat: the pre-1.6 torch.save format (a bare pickle stream), which is not read.
	ErrLegacyFormat = errors.New("legacy torch.save format (re-save with PyTorch ≥ 1.6 defaults)")
	// ErrPickle: data.pkl is malformed or uses an opcode or construct this reader refuses.
	ErrPickle = errors.New("invalid pickle")
	// ErrUnsupported: a storage type (such as complex or quantized) that is not converted.
	ErrUnsupported = errors.New("unsupported storage type")
	// ErrStorage: a storage record that is missing, has the wrong size, or that a view runs past.
	ErrStorage = errors.New("invalid storage")
	// ErrStride: a view whose strides make it larger than its storage (overlapping elements).
	ErrStride = errors.New("unsupported strides")
	// ErrDuplicate: two entries flatten to the same name.
	ErrDuplicate = errors.New("duplicate entry name")
	// ErrNotFound: no tensor of that name.
	ErrNotFound = errors.New("tensor not found")
)
