package safetensors

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"unicode/utf8"
)

// Write stores tensors in the safetensors format, in the order given. Each tensor is stored
// as its DType (F32 when empty); F32, F16, BF16 and F64 are supported, rounding to nearest
// with ties to even. metadata (which may be nil) becomes the header's "__metadata__", with
// its keys sorted so that the output is deterministic. The header is padded with spaces to
// a multiple of 8 bytes. Data is encoded through a small buffer, not copied whole.
func Write(w io.Writer, tensors []Tensor, metadata map[string]string) error {
	header, err := encodeHeader(tensors, metadata)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(w, 1<<16)
	if _, err := bw.Write(header); err != nil {
		return fmt.Errorf("safetensors: write header: %w", err)
	}
	const chunk = 1 << 14        // elements per encode step
	buf := make([]byte, chunk*8) // [chunk * dtype size]
	for _, t := range tensors {
		dt := storedDType(t)
		size := dt.Size()
		for i := 0; i < len(t.Data); i += chunk {
			part := t.Data[i:min(i+chunk, len(t.Data))]
			raw := buf[:len(part)*size]
			if err := EncodeFloat32(raw, part, dt); err != nil {
				return fmt.Errorf("safetensors: tensor %q: %w", t.Name, err)
			}
			if _, err := bw.Write(raw); err != nil {
				return fmt.Errorf("safetensors: tensor %q: %w", t.Name, err)
			}
		}
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	return nil
}

// WriteFile writes tensors to path like [Write]. It writes a temporary file in the same
// directory and renames it over path only once everything is written and synced, so a
// failure never leaves a partial file at path.
func WriteFile(path string, tensors []Tensor, metadata map[string]string) (err error) {
	// Validate first so that bad input does not even create the temporary file.
	if _, err := encodeHeader(tensors, metadata); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := Write(tmp, tensors, metadata); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("safetensors: %w", err)
	}
	return nil
}

func storedDType(t Tensor) DType {
	if t.DType == "" {
		return F32
	}
	return t.DType
}

// encodeHeader validates tensors and returns the 8-byte length followed by the padded JSON.
func encodeHeader(tensors []Tensor, metadata map[string]string) ([]byte, error) {
	var js bytes.Buffer
	js.WriteByte('{')
	first := true
	sep := func() {
		if !first {
			js.WriteByte(',')
		}
		first = false
	}
	if len(metadata) > 0 {
		sep()
		js.WriteString(`"__metadata__":{`)
		keys := make([]string, 0, len(metadata))
		for k := range metadata {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for i, k := range keys {
			if !utf8.ValidString(k) || !utf8.ValidString(metadata[k]) {
				return nil, fmt.Errorf("safetensors: __metadata__ %q: not valid UTF-8: %w", k, ErrHeader)
			}
			if i > 0 {
				js.WriteByte(',')
			}
			writeString(&js, k)
			js.WriteByte(':')
			writeString(&js, metadata[k])
		}
		js.WriteByte('}')
	}
	seen := make(map[string]bool, len(tensors))
	var off int64
	for _, t := range tensors {
		if t.Name == "__metadata__" {
			return nil, fmt.Errorf("safetensors: tensor %q: reserved name: %w", t.Name, ErrHeader)
		}
		if !utf8.ValidString(t.Name) {
			return nil, fmt.Errorf("safetensors: tensor %q: name is not valid UTF-8: %w", t.Name, ErrHeader)
		}
		if seen[t.Name] {
			return nil, fmt.Errorf("safetensors: tensor %q: %w", t.Name, ErrDuplicate)
		}
		seen[t.Name] = true
		dt := storedDType(t)
		if !dt.Writable() {
			return nil, fmt.Errorf("safetensors: tensor %q: write as %q: %w", t.Name, string(dt), ErrConvert)
		}
		numel := 1
		for i, d := range t.Shape {
			if d < 0 {
				return nil, fmt.Errorf("safetensors: tensor %q: shape[%d] = %d is negative: %w", t.Name, i, d, ErrShape)
			}
			if d != 0 && numel > len(t.Data)/d {
				numel = -1 // larger than the data: reported below
				break
			}
			numel *= d
		}
		if numel != len(t.Data) {
			return nil, fmt.Errorf("safetensors: tensor %q: shape %v does not match %d elements: %w", t.Name, t.Shape, len(t.Data), ErrShape)
		}
		n := int64(numel) * int64(dt.Size())
		sep()
		writeString(&js, t.Name)
		fmt.Fprintf(&js, `:{"dtype":"%s","shape":[`, dt)
		for i, d := range t.Shape {
			if i > 0 {
				js.WriteByte(',')
			}
			fmt.Fprintf(&js, "%d", d)
		}
		fmt.Fprintf(&js, `],"data_offsets":[%d,%d]}`, off, off+n)
		off += n
	}
	js.WriteByte('}')
	for js.Len()%8 != 0 {
		js.WriteByte(' ')
	}
	if js.Len() > MaxHeaderSize {
		return nil, fmt.Errorf("safetensors: header of %d bytes exceeds the %d-byte limit: %w", js.Len(), MaxHeaderSize, ErrHeader)
	}
	out := make([]byte, 8, 8+js.Len())
	n := uint64(js.Len())
	for i := range 8 {
		out[i] = byte(n >> (8 * i))
	}
	return append(out, js.Bytes()...), nil
}

// writeString writes s as a JSON string without HTML escaping.
func writeString(b *bytes.Buffer, s string) {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)       // encoding a string cannot fail
	b.Truncate(b.Len() - 1) // drop the newline Encode adds
}
