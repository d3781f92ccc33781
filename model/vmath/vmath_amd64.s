//go:build amd64 && !purego

#include "textflag.h"

// func expShiftAVX(dst, src *float32, n int, shift float32, c *[14][8]float32, lanes *[8]float64)
//
// dst[i] = exp(src[i] - shift) for i < n (n a multiple of 8), eight at a
// time; lanes[0:4] and lanes[4:8] accumulate the results in float64.
// Constant rows of c (32 bytes each): 0 hi, 1 lo, 2 log2e, 3 ln2hi,
// 4 ln2lo, 5..10 P0..P5, 11 one, 12 +Inf, 13 int32 127.
TEXT ·expShiftAVX(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	VBROADCASTSS shift+24(FP), Y15
	MOVQ c+32(FP), AX
	MOVQ lanes+40(FP), BX
	VXORPD Y8, Y8, Y8
	VXORPD Y9, Y9, Y9

loop:
	CMPQ CX, $8
	JLT done
	VMOVUPS (SI), Y0
	VSUBPS Y15, Y0, Y0                // x = src - shift
	VCMPPS $0x1d, 32(AX), Y0, Y7      // keep = x >= lo (false for -Inf, NaN)
	VCMPPS $0x1e, (AX), Y0, Y6        // inf = x > hi
	VMINPS (AX), Y0, Y0               // x = min(x, hi)
	VMAXPS 32(AX), Y0, Y0             // x = max(x, lo)
	VMULPS 64(AX), Y0, Y1             // x·log2e
	VROUNDPS $0, Y1, Y1               // n = nearest integer
	VFNMADD231PS 96(AX), Y1, Y0       // r = x - n·ln2hi
	VFNMADD231PS 128(AX), Y1, Y0      // r -= n·ln2lo
	VMULPS Y0, Y0, Y2                 // r²
	VMOVUPS 160(AX), Y3               // P0
	VFMADD213PS 192(AX), Y0, Y3       // ·r + P1
	VFMADD213PS 224(AX), Y0, Y3       // ·r + P2
	VFMADD213PS 256(AX), Y0, Y3       // ·r + P3
	VFMADD213PS 288(AX), Y0, Y3       // ·r + P4
	VFMADD213PS 320(AX), Y0, Y3       // ·r + P5
	VFMADD213PS Y0, Y2, Y3            // ·r² + r
	VADDPS 352(AX), Y3, Y3            // + 1
	VCVTPS2DQ Y1, Y1                  // n as int32
	VPADDD 416(AX), Y1, Y1            // n + 127
	VPSLLD $23, Y1, Y1                // 2^n
	VMULPS Y1, Y3, Y3
	VBLENDVPS Y6, 384(AX), Y3, Y3     // +Inf above hi
	VANDPS Y7, Y3, Y3                 // 0 below lo
	VMOVUPS Y3, (DI)
	VCVTPS2PD X3, Y4
	VADDPD Y4, Y8, Y8
	VEXTRACTF128 $1, Y3, X5
	VCVTPS2PD X5, Y5
	VADDPD Y5, Y9, Y9
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JMP loop

done:
	VADDPD (BX), Y8, Y8
	VADDPD 32(BX), Y9, Y9
	VMOVUPD Y8, (BX)
	VMOVUPD Y9, 32(BX)
	VZEROUPPER
	RET
