package gguf

import (
	"encoding/binary"
	"fmt"
	"math"

	"github.com/minimind-go/minimind/model/safetensors"
)

// Encode stores src as type t into dst, which must be t.ByteSize(len(src))
// long. Q8_0 and Q4_0 round as llama.cpp's reference quantizers do:
//
//	Q8_0 block: d = max|x| / 127, q = round(x / d)             (x ≈ d·q)
//	Q4_0 block: d = m / −8 where m is the x of largest |x|,
//	            q = min(15, trunc(x/d + 8.5)), stored as nibbles (x ≈ d·(q−8)),
//	            byte j holds value j in its low and value j+16 in its high nibble
func Encode(dst []byte, src []float32, t TensorType) error {
	n, err := t.ByteSize(int64(len(src)))
	if err != nil {
		return err
	}
	if int64(len(dst)) != n {
		return fmt.Errorf("gguf: encode %v: %d bytes for %d values, want %d", t, len(dst), len(src), n)
	}
	switch t {
	case F32:
		for i, v := range src {
			binary.LittleEndian.PutUint32(dst[4*i:], math.Float32bits(v))
		}
	case F16:
		for i, v := range src {
			binary.LittleEndian.PutUint16(dst[2*i:], safetensors.Float32ToF16(v))
		}
	case BF16:
		for i, v := range src {
			binary.LittleEndian.PutUint16(dst[2*i:], safetensors.Float32ToBF16(v))
		}
	case Q8_0:
		for b := 0; b < len(src)/QK; b++ {
			quantQ8(dst[b*Q8_0BlockBytes:(b+1)*Q8_0BlockBytes], src[b*QK:(b+1)*QK])
		}
	case Q4_0:
		for b := 0; b < len(src)/QK; b++ {
			quantQ4(dst[b*Q4_0BlockBytes:(b+1)*Q4_0BlockBytes], src[b*QK:(b+1)*QK])
		}
	}
	return nil
}

// quantQ8 writes one Q8_0 block (34 bytes) of x [32].
func quantQ8(dst []byte, x []float32) {
	var amax float32
	for _, v := range x {
		amax = max(amax, float32(math.Abs(float64(v))))
	}
	d := amax / 127
	var id float32
	if d != 0 {
		id = 1 / d
	}
	binary.LittleEndian.PutUint16(dst, safetensors.Float32ToF16(d))
	for i, v := range x {
		dst[2+i] = byte(int8(math.Round(float64(v * id))))
	}
}

// quantQ4 writes one Q4_0 block (18 bytes) of x [32].
func quantQ4(dst []byte, x []float32) {
	var amax, m float32
	for _, v := range x {
		if a := float32(math.Abs(float64(v))); a > amax {
			amax, m = a, v
		}
	}
	d := m / -8
	var id float32
	if d != 0 {
		id = 1 / d
	}
	binary.LittleEndian.PutUint16(dst, safetensors.Float32ToF16(d))
	q := func(v float32) byte { return byte(min(15, int8(v*id+8.5))) }
	for j := range QK / 2 {
		dst[2+j] = q(x[j]) | q(x[j+QK/2])<<4
	}
}

// Decode converts src, stored as type t, into dst (len(dst) values).
func Decode(dst []float32, src []byte, t TensorType) error {
	n, err := t.ByteSize(int64(len(dst)))
	if err != nil {
		return err
	}
	if int64(len(src)) != n {
		return fmt.Errorf("gguf: decode %v: %d bytes for %d values, want %d", t, len(src), len(dst), n)
	}
	switch t {
	case F32:
		for i := range dst {
			dst[i] = math.Float32frombits(binary.LittleEndian.Uint32(src[4*i:]))
		}
	case F16:
		for i := range dst {
			dst[i] = safetensors.F16ToFloat32(binary.LittleEndian.Uint16(src[2*i:]))
		}
	case BF16:
		for i := range dst {
			dst[i] = safetensors.BF16ToFloat32(binary.LittleEndian.Uint16(src[2*i:]))
		}
	case Q8_0:
		for b := 0; b < len(dst)/QK; b++ {
			blk := src[b*Q8_0BlockBytes:]
			d := safetensors.F16ToFloat32(binary.LittleEndian.Uint16(blk))
			for i := range QK {
				dst[b*QK+i] = d * float32(int8(blk[2+i]))
			}
		}
	case Q4_0:
		for b := 0; b < len(dst)/QK; b++ {
			blk := src[b*Q4_0BlockBytes:]
			d := safetensors.F16ToFloat32(binary.LittleEndian.Uint16(blk))
			for j := range QK / 2 {
				dst[b*QK+j] = d * float32(int(blk[2+j]&15)-8)
				dst[b*QK+j+QK/2] = d * float32(int(blk[2+j]>>4)-8)
			}
		}
	}
	return nil
}
