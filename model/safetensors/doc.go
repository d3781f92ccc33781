// Package safetensors reads and writes the Hugging Face safetensors checkpoint format.
//
// A safetensors file is an 8-byte little-endian header length n, then n bytes of a JSON
// object, then the raw little-endian tensor data. The JSON object maps each tensor name to
// {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the start of the
// data section) and may hold a "__metadata__" object of string values.
//
// Reading is lazy: [Open], [NewReader], [OpenFS] and [Parse] validate the whole header
// (lengths, JSON, dtypes, shapes, offsets, duplicates) and then return a [File] whose
// tensors are converted to float32 one at a time with [File.Float32], streaming through a
// small buffer so that a large file is never held twice in memory. [ReadFile] and [Read]
// load every tensor at once. F64, F32, F16 and BF16 (and the integer and bool dtypes) convert
// to float32; the 8-bit float dtypes are recognised but not converted.
//
// [Write] and [WriteFile] produce files Hugging Face's own library reads: tensors in the order
// given, the header padded with spaces to a multiple of 8 bytes, each tensor stored as F32,
// F16, BF16 or F64 (rounded to nearest, ties to even).
//
// Errors name the file and the tensor and wrap one of the package's sentinel errors, so
// callers can test them with errors.Is. No input makes the reader panic.
package safetensors
