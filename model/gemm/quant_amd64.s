//go:build amd64 && !purego

#include "textflag.h"

// func dotF16x16(n int, x *float32, w *byte) float32
//
// x [n] float32, w [n] halves; n a positive multiple of 16. Four
// accumulators over 32 values per iteration, then a 16-value tail.
TEXT ·dotF16x16(SB), NOSPLIT, $0-28
	MOVQ n+0(FP), CX
	MOVQ x+8(FP), SI
	MOVQ w+16(FP), DI
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7

f16loop32:
	CMPQ CX, $32
	JLT  f16tail16
	VCVTPH2PS (DI), Y0
	VCVTPH2PS 16(DI), Y1
	VCVTPH2PS 32(DI), Y2
	VCVTPH2PS 48(DI), Y3
	VFMADD231PS (SI), Y0, Y4
	VFMADD231PS 32(SI), Y1, Y5
	VFMADD231PS 64(SI), Y2, Y6
	VFMADD231PS 96(SI), Y3, Y7
	ADDQ $64, DI
	ADDQ $128, SI
	SUBQ $32, CX
	JMP  f16loop32

f16tail16:
	CMPQ CX, $16
	JLT  f16reduce
	VCVTPH2PS (DI), Y0
	VCVTPH2PS 16(DI), Y1
	VFMADD231PS (SI), Y0, Y4
	VFMADD231PS 32(SI), Y1, Y5

f16reduce:
	VADDPS Y5, Y4, Y4
	VADDPS Y7, Y6, Y6
	VADDPS Y6, Y4, Y4
	VEXTRACTF128 $1, Y4, X5
	VADDPS X5, X4, X4
	VHADDPS X4, X4, X4
	VHADDPS X4, X4, X4
	VZEROUPPER
	MOVSS X4, ret+24(FP)
	RET

// func dotQ8Blocks(nb int, x *float32, w *byte) float32
//
// Each 34-byte block: a half scale d and 32 int8 values q. The block's
// Σ x·q is formed in Y1 and added to the accumulator Y8 as d·Σ (one FMA).
TEXT ·dotQ8Blocks(SB), NOSPLIT, $0-28
	MOVQ nb+0(FP), CX
	MOVQ x+8(FP), SI
	MOVQ w+16(FP), DI
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9

q8loop:
	TESTQ CX, CX
	JZ    q8reduce
	MOVWLZX (DI), AX
	MOVQ AX, X0
	VCVTPH2PS X0, X0
	VBROADCASTSS X0, Y0          // d
	VPMOVSXBD 2(DI), Y1          // q[0..7] as int32
	VPMOVSXBD 10(DI), Y2
	VPMOVSXBD 18(DI), Y3
	VPMOVSXBD 26(DI), Y4
	VCVTDQ2PS Y1, Y1
	VCVTDQ2PS Y2, Y2
	VCVTDQ2PS Y3, Y3
	VCVTDQ2PS Y4, Y4
	VMULPS (SI), Y1, Y1
	VMULPS 32(SI), Y2, Y2
	VFMADD231PS 64(SI), Y3, Y1
	VFMADD231PS 96(SI), Y4, Y2
	VADDPS Y2, Y1, Y1
	VFMADD231PS Y1, Y0, Y8       // acc += d·Σ
	ADDQ $34, DI
	ADDQ $128, SI
	DECQ CX
	JZ   q8reduce
	// second block into Y9, to overlap the accumulation chains
	MOVWLZX (DI), AX
	MOVQ AX, X0
	VCVTPH2PS X0, X0
	VBROADCASTSS X0, Y0
	VPMOVSXBD 2(DI), Y1
	VPMOVSXBD 10(DI), Y2
	VPMOVSXBD 18(DI), Y3
	VPMOVSXBD 26(DI), Y4
	VCVTDQ2PS Y1, Y1
	VCVTDQ2PS Y2, Y2
	VCVTDQ2PS Y3, Y3
	VCVTDQ2PS Y4, Y4
	VMULPS (SI), Y1, Y1
	VMULPS 32(SI), Y2, Y2
	VFMADD231PS 64(SI), Y3, Y1
	VFMADD231PS 96(SI), Y4, Y2
	VADDPS Y2, Y1, Y1
	VFMADD231PS Y1, Y0, Y9
	ADDQ $34, DI
	ADDQ $128, SI
	DECQ CX
	JMP  q8loop

q8reduce:
	VADDPS Y9, Y8, Y8
	VEXTRACTF128 $1, Y8, X5
	VADDPS X5, X8, X4
	VHADDPS X4, X4, X4
	VHADDPS X4, X4, X4
	VZEROUPPER
	MOVSS X4, ret+24(FP)
	RET

// func dotQ4Blocks(nb int, x *float32, w *byte) float32
//
// Each 18-byte block: a half scale d and 16 bytes; byte j holds value j
// (low nibble) and value j+16 (high nibble), both offset by 8.
TEXT ·dotQ4Blocks(SB), NOSPLIT, $0-28
	MOVQ nb+0(FP), CX
	MOVQ x+8(FP), SI
	MOVQ w+16(FP), DI
	MOVQ $0x0F0F0F0F0F0F0F0F, AX
	MOVQ AX, X14
	VPBROADCASTQ X14, X14        // nibble mask
	MOVQ $0x0808080808080808, AX
	MOVQ AX, X13
	VPBROADCASTQ X13, X13        // 8 in every byte
	VXORPS Y8, Y8, Y8

q4loop:
	TESTQ CX, CX
	JZ    q4reduce
	MOVWLZX (DI), AX
	MOVQ AX, X0
	VCVTPH2PS X0, X0
	VBROADCASTSS X0, Y0          // d
	VMOVDQU 2(DI), X1            // 16 packed bytes
	VPAND X14, X1, X2            // values 0..15
	VPSRLW $4, X1, X3
	VPAND X14, X3, X3            // values 16..31
	VPSUBB X13, X2, X2           // q − 8
	VPSUBB X13, X3, X3
	VPMOVSXBD X2, Y4             // values 0..7
	VPSRLDQ $8, X2, X2
	VPMOVSXBD X2, Y5             // 8..15
	VPMOVSXBD X3, Y6             // 16..23
	VPSRLDQ $8, X3, X3
	VPMOVSXBD X3, Y7             // 24..31
	VCVTDQ2PS Y4, Y4
	VCVTDQ2PS Y5, Y5
	VCVTDQ2PS Y6, Y6
	VCVTDQ2PS Y7, Y7
	VMULPS (SI), Y4, Y4
	VMULPS 32(SI), Y5, Y5
	VFMADD231PS 64(SI), Y6, Y4
	VFMADD231PS 96(SI), Y7, Y5
	VADDPS Y5, Y4, Y4
	VFMADD231PS Y4, Y0, Y8       // acc += d·Σ
	ADDQ $18, DI
	ADDQ $128, SI
	DECQ CX
	JMP  q4loop

q4reduce:
	VEXTRACTF128 $1, Y8, X5
	VADDPS X5, X8, X4
	VHADDPS X4, X4, X4
	VHADDPS X4, X4, X4
	VZEROUPPER
	MOVSS X4, ret+24(FP)
	RET

// func cvtF16x8(n int, dst *float32, src *byte)
//
// dst[i] = half(src[i]) for i < n; n a positive multiple of 8.
TEXT ·cvtF16x8(SB), NOSPLIT, $0-24
	MOVQ n+0(FP), CX
	MOVQ dst+8(FP), DI
	MOVQ src+16(FP), SI

cvtloop:
	VCVTPH2PS (SI), Y0
	VMOVUPS Y0, (DI)
	ADDQ $16, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ  cvtloop
	VZEROUPPER
	RET

// func cvtQ8Blocks(nb int, dst *float32, w *byte)
//
// dst[32b+i] = d_b·q_b[i] for the nb Q8_0 blocks at w.
TEXT ·cvtQ8Blocks(SB), NOSPLIT, $0-24
	MOVQ nb+0(FP), CX
	MOVQ dst+8(FP), DI
	MOVQ w+16(FP), SI

cq8loop:
	VPBROADCASTW (SI), X0
	VCVTPH2PS X0, Y0             // d in every lane
	VPMOVSXBD 2(SI), Y1
	VPMOVSXBD 10(SI), Y2
	VPMOVSXBD 18(SI), Y3
	VPMOVSXBD 26(SI), Y4
	VCVTDQ2PS Y1, Y1
	VCVTDQ2PS Y2, Y2
	VCVTDQ2PS Y3, Y3
	VCVTDQ2PS Y4, Y4
	VMULPS Y0, Y1, Y1
	VMULPS Y0, Y2, Y2
	VMULPS Y0, Y3, Y3
	VMULPS Y0, Y4, Y4
	VMOVUPS Y1, (DI)
	VMOVUPS Y2, 32(DI)
	VMOVUPS Y3, 64(DI)
	VMOVUPS Y4, 96(DI)
	ADDQ $34, SI
	ADDQ $128, DI
	DECQ CX
	JNZ  cq8loop
	VZEROUPPER
	RET

// func cvtQ4Blocks(nb int, dst *float32, w *byte)
//
// dst[32b+j] = d_b·(lo nibble of byte j − 8), dst[32b+16+j] = d_b·(hi − 8).
TEXT ·cvtQ4Blocks(SB), NOSPLIT, $0-24
	MOVQ nb+0(FP), CX
	MOVQ dst+8(FP), DI
	MOVQ w+16(FP), SI
	MOVQ $0x0F0F0F0F0F0F0F0F, AX
	MOVQ AX, X14
	VPBROADCASTQ X14, X14
	MOVQ $0x0808080808080808, AX
	MOVQ AX, X13
	VPBROADCASTQ X13, X13

cq4loop:
	VPBROADCASTW (SI), X0
	VCVTPH2PS X0, Y0
	VMOVDQU 2(SI), X1
	VPAND X14, X1, X2
	VPSRLW $4, X1, X3
	VPAND X14, X3, X3
	VPSUBB X13, X2, X2
	VPSUBB X13, X3, X3
	VPMOVSXBD X2, Y4
	VPSRLDQ $8, X2, X2
	VPMOVSXBD X2, Y5
	VPMOVSXBD X3, Y6
	VPSRLDQ $8, X3, X3
	VPMOVSXBD X3, Y7
	VCVTDQ2PS Y4, Y4
	VCVTDQ2PS Y5, Y5
	VCVTDQ2PS Y6, Y6
	VCVTDQ2PS Y7, Y7
	VMULPS Y0, Y4, Y4
	VMULPS Y0, Y5, Y5
	VMULPS Y0, Y6, Y6
	VMULPS Y0, Y7, Y7
	VMOVUPS Y4, (DI)
	VMOVUPS Y5, 32(DI)
	VMOVUPS Y6, 64(DI)
	VMOVUPS Y7, 96(DI)
	ADDQ $18, SI
	ADDQ $128, DI
	DECQ CX
	JNZ  cq4loop
	VZEROUPPER
	RET


// func dotQ8Q8(nb int, xq *byte, xd *float32, w *byte) float32
//
// x quantized to int8 per 32-value block (values xq, scales xd) against nb
// Q8_0 blocks: Σ_b dw_b·dx_b·Σ_i xq[32b+i]·q_b[i], each inner sum exact in
// int32 (|w| times the sign-adjusted x with VPMADDUBSW, pairs added by
// VPMADDWD).
TEXT ·dotQ8Q8(SB), NOSPLIT, $0-36
	MOVQ nb+0(FP), CX
	MOVQ xq+8(FP), SI
	MOVQ xd+16(FP), R8
	MOVQ w+24(FP), DI
	VPCMPEQW Y15, Y15, Y15
	VPSRLW $15, Y15, Y15         // 1 in every int16
	VXORPS Y8, Y8, Y8

q8q8loop:
	VPBROADCASTW (DI), X0
	VCVTPH2PS X0, Y0             // dw
	VBROADCASTSS (R8), Y1        // dx
	VMULPS Y1, Y0, Y0            // dw·dx
	VMOVDQU 2(DI), Y2            // w int8 [32]
	VMOVDQU (SI), Y3             // x int8 [32]
	VPSIGNB Y2, Y2, Y4           // |w| (unsigned: −128 reads as 128)
	VPSIGNB Y2, Y3, Y5           // x·sign(w) (|x| ≤ 127, no overflow)
	VPMADDUBSW Y5, Y4, Y6        // int16 pair sums (≤ 2·128·127, no saturation)
	VPMADDWD Y15, Y6, Y6         // int32 [8]
	VCVTDQ2PS Y6, Y6
	VFMADD231PS Y6, Y0, Y8
	ADDQ $34, DI
	ADDQ $32, SI
	ADDQ $4, R8
	DECQ CX
	JNZ  q8q8loop
	VEXTRACTF128 $1, Y8, X5
	VADDPS X5, X8, X4
	VHADDPS X4, X4, X4
	VHADDPS X4, X4, X4
	VZEROUPPER
	MOVSS X4, ret+32(FP)
	RET

// func dotQ4Q8(nb int, xq *byte, xd *float32, w *byte) float32
//
// As dotQ8Q8 against nb Q4_0 blocks, whose nibbles are unpacked to 32
// signed bytes (low nibbles: values 0..15, high: 16..31, minus 8).
TEXT ·dotQ4Q8(SB), NOSPLIT, $0-36
	MOVQ nb+0(FP), CX
	MOVQ xq+8(FP), SI
	MOVQ xd+16(FP), R8
	MOVQ w+24(FP), DI
	VPCMPEQW Y15, Y15, Y15
	VPSRLW $15, Y15, Y15
	MOVQ $0x0F0F0F0F0F0F0F0F, AX
	MOVQ AX, X14
	VPBROADCASTQ X14, Y14        // nibble mask
	MOVQ $0x0808080808080808, AX
	MOVQ AX, X13
	VPBROADCASTQ X13, Y13        // 8 in every byte
	VXORPS Y8, Y8, Y8

q4q8loop:
	VPBROADCASTW (DI), X0
	VCVTPH2PS X0, Y0
	VBROADCASTSS (R8), Y1
	VMULPS Y1, Y0, Y0
	VMOVDQU 2(DI), X2
	VPSRLW $4, X2, X7
	VINSERTI128 $1, X7, Y2, Y2
	VPAND Y14, Y2, Y2
	VPSUBB Y13, Y2, Y2           // w int8 [32]
	VMOVDQU (SI), Y3
	VPSIGNB Y2, Y2, Y4
	VPSIGNB Y2, Y3, Y5
	VPMADDUBSW Y5, Y4, Y6
	VPMADDWD Y15, Y6, Y6
	VCVTDQ2PS Y6, Y6
	VFMADD231PS Y6, Y0, Y8
	ADDQ $18, DI
	ADDQ $32, SI
	ADDQ $4, R8
	DECQ CX
	JNZ  q4q8loop
	VEXTRACTF128 $1, Y8, X5
	VADDPS X5, X8, X4
	VHADDPS X4, X4, X4
	VHADDPS X4, X4, X4
	VZEROUPPER
	MOVSS X4, ret+32(FP)
	RET
