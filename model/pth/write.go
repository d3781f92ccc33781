package pth

import (
	"archive/zip"
	"bytes"
	"encoding/binary"
	"fmt"
	"hash/crc32"
	"io"
	"strconv"

	"github.com/minimind-go/minimind/model/safetensors"
)

// storageClass is torch's typed storage class of each writable dtype.
var storageClass = map[safetensors.DType]string{
	safetensors.F32:  "FloatStorage",
	safetensors.F16:  "HalfStorage",
	safetensors.BF16: "BFloat16Storage",
	safetensors.F64:  "DoubleStorage",
}

// Write writes tensors as torch.save writes a state dict: a zip archive
// (entries stored, records 64-byte aligned) holding archive/data.pkl, an
// OrderedDict of name → tensor (pickle protocol 2, torch._utils._rebuild_tensor_v2),
// one record archive/data/<i> of dtype dt per tensor, archive/version and
// archive/byteorder. The float32 values are converted to dt (F32, F16, BF16
// or F64), as MiniMind's `{k: v.half()}` state dicts are.
func Write(w io.Writer, tensors []safetensors.Tensor, dt safetensors.DType) error {
	cls, ok := storageClass[dt]
	if !ok {
		return fmt.Errorf("pth: cannot write dtype %s", dt)
	}
	var pk bytes.Buffer
	pk.WriteString("\x80\x02")                    // PROTO 2
	pk.WriteString("ccollections\nOrderedDict\n") // GLOBAL
	pk.WriteString(")R")                          // EMPTY_TUPLE, REDUCE
	pk.WriteString("(")                           // MARK
	for i, t := range tensors {
		n := 1
		for _, d := range t.Shape {
			n *= d
		}
		if n != len(t.Data) {
			return fmt.Errorf("pth: tensor %s: shape %v holds %d values, data %d", t.Name, t.Shape, n, len(t.Data))
		}
		pickleString(&pk, t.Name)
		pk.WriteString("ctorch._utils\n_rebuild_tensor_v2\n(")
		// persistent id ('storage', torch.<cls>, key, 'cpu', numel)
		pk.WriteString("(")
		pickleString(&pk, "storage")
		pk.WriteString("ctorch\n" + cls + "\n")
		pickleString(&pk, strconv.Itoa(i))
		pickleString(&pk, "cpu")
		pickleInt(&pk, n)
		pk.WriteString("tQ") // TUPLE, BINPERSID
		pickleInt(&pk, 0)    // storage offset
		pk.WriteString("(")
		for _, d := range t.Shape {
			pickleInt(&pk, d)
		}
		pk.WriteString("t(")
		stride := 1
		strides := make([]int, len(t.Shape))
		for j := len(t.Shape) - 1; j >= 0; j-- {
			strides[j] = stride
			stride *= t.Shape[j]
		}
		for _, s := range strides {
			pickleInt(&pk, s)
		}
		pk.WriteString("t\x89")                         // sizes done; requires_grad False
		pk.WriteString("ccollections\nOrderedDict\n)R") // backward hooks
		pk.WriteString("tR")                            // args tuple, REDUCE
	}
	pk.WriteString("u.") // SETITEMS, STOP

	cw := &countWriter{w: w}
	zw := zip.NewWriter(cw)
	add := func(name string, data []byte) error {
		// Pad the local header's extra field so the data starts on 64 bytes.
		hdr := 30 + len(name)
		pad := (64 - int((cw.n+int64(hdr)+4)%64)) % 64
		extra := make([]byte, 4+pad)
		binary.LittleEndian.PutUint16(extra[0:], 0x4246) // "FB", as torch's writer
		binary.LittleEndian.PutUint16(extra[2:], uint16(pad))
		fh := &zip.FileHeader{Name: name, Method: zip.Store, CRC32: crc32.ChecksumIEEE(data),
			CompressedSize64: uint64(len(data)), UncompressedSize64: uint64(len(data)), Extra: extra}
		fw, err := zw.CreateRaw(fh)
		if err != nil {
			return err
		}
		_, err = fw.Write(data)
		return err
	}
	if err := add("archive/data.pkl", pk.Bytes()); err != nil {
		return fmt.Errorf("pth: %w", err)
	}
	if err := add("archive/byteorder", []byte("little")); err != nil {
		return fmt.Errorf("pth: %w", err)
	}
	for i, t := range tensors {
		buf := make([]byte, len(t.Data)*dt.Size())
		if err := safetensors.EncodeFloat32(buf, t.Data, dt); err != nil {
			return fmt.Errorf("pth: tensor %s: %w", t.Name, err)
		}
		if err := add("archive/data/"+strconv.Itoa(i), buf); err != nil {
			return fmt.Errorf("pth: %w", err)
		}
	}
	if err := add("archive/version", []byte("3\n")); err != nil {
		return fmt.Errorf("pth: %w", err)
	}
	if err := zw.Close(); err != nil {
		return fmt.Errorf("pth: %w", err)
	}
	return nil
}

// pickleString writes a BINUNICODE string.
func pickleString(b *bytes.Buffer, s string) {
	b.WriteByte('X')
	var n [4]byte
	binary.LittleEndian.PutUint32(n[:], uint32(len(s)))
	b.Write(n[:])
	b.WriteString(s)
}

// pickleInt writes a non-negative int (BININT1, BININT2 or BININT).
func pickleInt(b *bytes.Buffer, v int) {
	switch {
	case v >= 0 && v < 1<<8:
		b.WriteByte('K')
		b.WriteByte(byte(v))
	case v >= 0 && v < 1<<16:
		b.WriteByte('M')
		b.WriteByte(byte(v))
		b.WriteByte(byte(v >> 8))
	default:
		b.WriteByte('J')
		var n [4]byte
		binary.LittleEndian.PutUint32(n[:], uint32(int32(v)))
		b.Write(n[:])
	}
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
