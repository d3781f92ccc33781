// Package gguf reads and writes GGUF version 3, the single-file model format
// of llama.cpp and ollama: a header of typed key/value metadata, a table of
// tensors (name, dimensions, element type, offset) and the aligned tensor
// data. It stores F32, F16, BF16 (read only), Q8_0 and Q4_0 tensors and
// converts them to and from float32 with the rounding llama.cpp's reference
// quantizers use.
//
// This file-format layer knows nothing about models; the mapping of MiniMind
// weights, configuration and tokenizer to llama.cpp's architectures
// ("llama", "qwen3", "qwen3moe") is in export.go and import.go.
//
// Every error names the file and the key or tensor at fault, and wraps one of
// the sentinel errors below (test with errors.Is).
package gguf
