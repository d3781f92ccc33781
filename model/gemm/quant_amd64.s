//go:build amd64 && !purego

#include "textflag.h"

// The four-row kernels. Their loops share these steps (Y0..Y5 and Y8 as
// described in each kernel; Y9..Y12 scratch):

// Q8X4_LOAD: Y0 = xq, Y1 = |xq| (both [32] int8), Y2..Y5 = the four rows'
// values w·sign(x) (VPSIGNB), from the packed group block at DI.
#define Q8X4_LOAD \
	VMOVDQU (BX), Y0; \
	VMOVDQU (SI), Y1; \
	VMOVDQU 8(DI), Y2; \
	VMOVDQU 40(DI), Y3; \
	VMOVDQU 72(DI), Y4; \
	VMOVDQU 104(DI), Y5; \
	VPSIGNB Y0, Y2, Y2; \
	VPSIGNB Y0, Y3, Y3; \
	VPSIGNB Y0, Y4, Y4; \
	VPSIGNB Y0, Y5, Y5

// Q4X4_LOAD: Y0 = xq [32] int8, Y2..Y5 = the four rows' unsigned nibbles
// u = q + 8 (values 0..15 in the low half, 16..31 in the high half: the 16
// bytes loaded twice, the high copy shifted right by 4 bits, then masked
// with Y14; the shift counts are in Y13).
#define Q4X4_LOAD \
	VMOVDQU (BX), Y0; \
	VBROADCASTI128 8(DI), Y2; \
	VBROADCASTI128 24(DI), Y3; \
	VBROADCASTI128 40(DI), Y4; \
	VBROADCASTI128 56(DI), Y5; \
	VPSRLVD Y13, Y2, Y2; \
	VPSRLVD Y13, Y3, Y3; \
	VPSRLVD Y13, Y4, Y4; \
	VPSRLVD Y13, Y5, Y5; \
	VPAND Y14, Y2, Y2; \
	VPAND Y14, Y3, Y3; \
	VPAND Y14, Y4, Y4; \
	VPAND Y14, Y5, Y5

// DOTS_AVX2(s0, u0, …): Y2..Y5 = int32 [8] sums of the products of the
// signed bytes s_r and the unsigned bytes u_r (VPMADDUBSW: int16 pair sums,
// within range for |s| ≤ 128, u ≤ 127 or u ≤ 15; VPMADDWD by the ones in
// Y15: int32), then folded by three VPHADDD into Y2 = [r0 r1 r2 r3 | r0 r1 r2 r3]
// (the block's values 0..15 | 16..31).
#define DOTS_AVX2(s0, u0, s1, u1, s2, u2, s3, u3) \
	VPMADDUBSW s0, u0, Y2; \
	VPMADDUBSW s1, u1, Y3; \
	VPMADDUBSW s2, u2, Y4; \
	VPMADDUBSW s3, u3, Y5; \
	VPMADDWD Y15, Y2, Y2; \
	VPMADDWD Y15, Y3, Y3; \
	VPMADDWD Y15, Y4, Y4; \
	VPMADDWD Y15, Y5, Y5; \
	VPHADDD Y3, Y2, Y2; \
	VPHADDD Y5, Y4, Y4; \
	VPHADDD Y4, Y2, Y2

// DOTS_VNNI(s0, u0, …): the same sums with one VPDPBUSD per row.
#define DOTS_VNNI(s0, u0, s1, u1, s2, u2, s3, u3) \
	VPXOR Y9, Y9, Y9; \
	VPXOR Y10, Y10, Y10; \
	VPXOR Y11, Y11, Y11; \
	VPXOR Y12, Y12, Y12; \
	VPDPBUSD s0, u0, Y9; \
	VPDPBUSD s1, u1, Y10; \
	VPDPBUSD s2, u2, Y11; \
	VPDPBUSD s3, u3, Y12; \
	VPHADDD Y10, Y9, Y2; \
	VPHADDD Y12, Y11, Y4; \
	VPHADDD Y4, Y2, Y2

// SCALE_ACC(groupBytes): converts the folded sums Y2 to float32 once,
// multiplies them by [dw_r·dx] (the rows' four half scales at DI, x's scale
// at R8) and adds them to the accumulator Y8; then steps to the next block.
#define SCALE_ACC(groupBytes) \
	VCVTDQ2PS Y2, Y2; \
	VPBROADCASTQ (DI), X6; \
	VCVTPH2PS X6, Y6; \
	VBROADCASTSS (R8), Y7; \
	VMULPS Y7, Y6, Y6; \
	VFMADD231PS Y2, Y6, Y8; \
	ADDQ $groupBytes, DI; \
	ADDQ $32, BX; \
	ADDQ $32, SI; \
	ADDQ $4, R8

// X4_PROLOGUE loads the arguments (nb, x's values, x's magnitudes or
// offsets, x's scales, the group) and sets Y15 to 1 in every int16 and the
// accumulator Y8 to 0.
#define X4_PROLOGUE \
	MOVQ nb+0(FP), CX; \
	MOVQ xq+8(FP), BX; \
	MOVQ x2+16(FP), SI; \
	MOVQ xd+24(FP), R8; \
	MOVQ w+32(FP), DI; \
	VPCMPEQW Y15, Y15, Y15; \
	VPSRLW $15, Y15, Y15; \
	VXORPS Y8, Y8, Y8

// Q4_MASKS sets Y14 to the nibble mask and Y13 to the dword shift counts
// [0 0 0 0 | 4 4 4 4].
#define Q4_MASKS \
	MOVQ $0x0F0F0F0F0F0F0F0F, DX; \
	MOVQ DX, X14; \
	VPBROADCASTQ X14, Y14; \
	MOVQ $4, DX; \
	MOVQ DX, X13; \
	VPBROADCASTD X13, X13; \
	VPXOR Y12, Y12, Y12; \
	VINSERTI128 $1, X13, Y12, Y13

// X4_EPILOGUE adds the two halves of the accumulator and stores [r0 r1 r2 r3].
#define X4_EPILOGUE \
	VEXTRACTF128 $1, Y8, X9; \
	VADDPS X9, X8, X8; \
	MOVQ out+40(FP), DX; \
	VMOVUPS X8, (DX); \
	VZEROUPPER


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

// func cvtQ8Blocks(nb int, dst *float32, s, v *byte, stride int)
//
// dst[32b+i] = d_b·q_b[i] for nb Q8_0 blocks: the half scale d_b at
// s + b·stride, the 32 int8 values q_b at v + b·stride.
TEXT ·cvtQ8Blocks(SB), NOSPLIT, $0-40
	MOVQ nb+0(FP), CX
	MOVQ dst+8(FP), DI
	MOVQ s+16(FP), SI
	MOVQ v+24(FP), BX
	MOVQ stride+32(FP), DX

cq8loop:
	VPBROADCASTW (SI), X0
	VCVTPH2PS X0, Y0             // d in every lane
	VPMOVSXBD (BX), Y1
	VPMOVSXBD 8(BX), Y2
	VPMOVSXBD 16(BX), Y3
	VPMOVSXBD 24(BX), Y4
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
	ADDQ DX, SI
	ADDQ DX, BX
	ADDQ $128, DI
	DECQ CX
	JNZ  cq8loop
	VZEROUPPER
	RET

// func cvtQ4Blocks(nb int, dst *float32, s, v *byte, stride int)
//
// dst[32b+j] = d_b·(lo nibble of v_b[j] − 8), dst[32b+16+j] = d_b·(hi − 8),
// with d_b at s + b·stride and the 16 bytes v_b at v + b·stride.
TEXT ·cvtQ4Blocks(SB), NOSPLIT, $0-40
	MOVQ nb+0(FP), CX
	MOVQ dst+8(FP), DI
	MOVQ s+16(FP), SI
	MOVQ v+24(FP), BX
	MOVQ stride+32(FP), DX
	MOVQ $0x0F0F0F0F0F0F0F0F, AX
	MOVQ AX, X14
	VPBROADCASTQ X14, X14
	MOVQ $0x0808080808080808, AX
	MOVQ AX, X13
	VPBROADCASTQ X13, X13

cq4loop:
	VPBROADCASTW (SI), X0
	VCVTPH2PS X0, Y0
	VMOVDQU (BX), X1
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
	ADDQ DX, SI
	ADDQ DX, BX
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

// func dotQ8Q8x4(nb int, xq, x2 *byte, xd *float32, w *byte, out *[4]float32)
//
// A packed group of four Q8_0 rows (QMatrix: per block, 8 bytes of the four
// rows' half scales, then their 4 × 32 int8 values; 136 bytes) against x
// rounded to int8 blocks: xq [32·nb] its values, x2 [32·nb] their magnitudes
// |xq|, xd [nb] the block scales. For each block and row the 32 products are
// summed exactly in int32: |x| (unsigned) times w·sign(x) (signed; the
// weights must not hold −128, whose negation wraps). Three VPHADDD fold the
// four rows' partial sums into [r0 r1 r2 r3 | r0 r1 r2 r3], which is
// converted to float32 once and added to the accumulator with one FMA by
// [dw_r·dx_b]: x, its scale and the float work are shared by four rows.
TEXT ·dotQ8Q8x4(SB), NOSPLIT, $0-48
	X4_PROLOGUE

q8x4loop:
	Q8X4_LOAD
	DOTS_AVX2(Y2, Y1, Y3, Y1, Y4, Y1, Y5, Y1)
	SCALE_ACC(136)
	DECQ CX
	JNZ  q8x4loop
	X4_EPILOGUE
	RET

// func dotQ8Q8x4VNNI(nb int, xq, x2 *byte, xd *float32, w *byte, out *[4]float32)
//
// dotQ8Q8x4 with VPDPBUSD (AVX-512 VNNI on YMM registers) in place of
// VPMADDUBSW + VPMADDWD: the same exact int32 sums.
TEXT ·dotQ8Q8x4VNNI(SB), NOSPLIT, $0-48
	X4_PROLOGUE

q8x4vloop:
	Q8X4_LOAD
	DOTS_VNNI(Y2, Y1, Y3, Y1, Y4, Y1, Y5, Y1)
	SCALE_ACC(136)
	DECQ CX
	JNZ  q8x4vloop
	X4_EPILOGUE
	RET

// func dotQ4Q8x4(nb int, xq *byte, x2 *int32, xd *float32, w *byte, out *[4]float32)
//
// A packed group of four Q4_0 rows (per block, 8 bytes of half scales, then
// the rows' 4 × 16 bytes; 72 bytes) against x rounded to int8 blocks (xq
// [32·nb], scales xd [nb]). The nibbles are taken unsigned, u = q + 8, and
// multiplied by x exactly; the offset is taken off after the rows are folded
// by subtracting x2 [nb, 8] (xInt8.c): 8·Σ x over the block's values 0..15
// in lanes 0..3 and over 16..31 in lanes 4..7.
TEXT ·dotQ4Q8x4(SB), NOSPLIT, $0-48
	X4_PROLOGUE
	Q4_MASKS

q4x4loop:
	Q4X4_LOAD
	DOTS_AVX2(Y0, Y2, Y0, Y3, Y0, Y4, Y0, Y5) // Σ u·x
	VPSUBD (SI), Y2, Y2          // Σ (u − 8)·x
	SCALE_ACC(72)
	DECQ CX
	JNZ  q4x4loop
	X4_EPILOGUE
	RET

// func dotQ4Q8x4VNNI(nb int, xq *byte, x2 *int32, xd *float32, w *byte, out *[4]float32)
//
// dotQ4Q8x4 with VPDPBUSD in place of VPMADDUBSW + VPMADDWD.
TEXT ·dotQ4Q8x4VNNI(SB), NOSPLIT, $0-48
	X4_PROLOGUE
	Q4_MASKS

q4x4vloop:
	Q4X4_LOAD
	DOTS_VNNI(Y0, Y2, Y0, Y3, Y0, Y4, Y0, Y5)
	VPSUBD (SI), Y2, Y2
	SCALE_ACC(72)
	DECQ CX
	JNZ  q4x4vloop
	X4_EPILOGUE
	RET

DATA q8xperm<>+0(SB)/4, $0
DATA q8xperm<>+4(SB)/4, $4
DATA q8xperm<>+8(SB)/4, $1
DATA q8xperm<>+12(SB)/4, $5
DATA q8xperm<>+16(SB)/4, $2
DATA q8xperm<>+20(SB)/4, $6
DATA q8xperm<>+24(SB)/4, $3
DATA q8xperm<>+28(SB)/4, $7
GLOBL q8xperm<>(SB), RODATA|NOPTR, $32

// func quantX8(nb int, x *float32, q, a *byte, d *float32, c *int32)
//
// Rounds x [32·nb] to int8 blocks for the integer kernels: per block,
// d = max|x| / 127, q = round(x / d) (to nearest even, as VCVTPS2DQ does),
// a = |q|, and c [8] = 8·Σ q over values 0..15 (lanes 0..3) and 16..31
// (lanes 4..7). A block of zeros gets d = 0 and q = 0.
TEXT ·quantX8(SB), NOSPLIT, $0-48
	MOVQ nb+0(FP), CX
	MOVQ x+8(FP), SI
	MOVQ q+16(FP), DI
	MOVQ a+24(FP), BX
	MOVQ d+32(FP), R8
	MOVQ c+40(FP), R9
	MOVL $0x7fffffff, AX
	MOVQ AX, X15
	VPBROADCASTD X15, Y15        // |·| mask
	MOVL $0x42fe0000, AX         // 127.0
	MOVQ AX, X14
	MOVL $0x3f800000, AX         // 1.0
	MOVQ AX, X13
	VMOVDQU q8xperm<>(SB), Y12
	VXORPS X11, X11, X11

qxloop:
	VMOVUPS (SI), Y0
	VMOVUPS 32(SI), Y1
	VMOVUPS 64(SI), Y2
	VMOVUPS 96(SI), Y3
	VANDPS Y15, Y0, Y4
	VANDPS Y15, Y1, Y5
	VANDPS Y15, Y2, Y6
	VANDPS Y15, Y3, Y7
	VMAXPS Y5, Y4, Y4
	VMAXPS Y7, Y6, Y6
	VMAXPS Y6, Y4, Y4
	VEXTRACTF128 $1, Y4, X5
	VMAXPS X5, X4, X4
	VPERMILPS $0x4E, X4, X5
	VMAXPS X5, X4, X4
	VPERMILPS $0xB1, X4, X5
	VMAXPS X5, X4, X4            // amax in every lane
	VDIVSS X14, X4, X5           // d = amax / 127
	VMOVSS X5, (R8)
	VDIVSS X5, X13, X6           // 1 / d (inf when d = 0)
	VCMPSS $4, X11, X5, X7       // d ≠ 0
	VANDPS X7, X6, X6            // id, 0 when d = 0
	VBROADCASTSS X6, Y6
	VMULPS Y6, Y0, Y0
	VMULPS Y6, Y1, Y1
	VMULPS Y6, Y2, Y2
	VMULPS Y6, Y3, Y3
	VCVTPS2DQ Y0, Y0             // int32, rounded to nearest even
	VCVTPS2DQ Y1, Y1
	VCVTPS2DQ Y2, Y2
	VCVTPS2DQ Y3, Y3
	// c: 8·Σ q[0..15] ×4 | 8·Σ q[16..31] ×4
	VPADDD Y1, Y0, Y4            // values 0..15, eight partial sums
	VPADDD Y3, Y2, Y5            // values 16..31
	VPHADDD Y5, Y4, Y4           // [lo lo hi hi | lo lo hi hi]
	VPHADDD Y4, Y4, Y4           // [lo hi lo hi | lo hi lo hi]
	VEXTRACTI128 $1, Y4, X5
	VPADDD X5, X4, X4            // [lo hi lo hi]
	VPSLLD $3, X4, X4
	VPSHUFD $0x00, X4, X5        // lo ×4
	VPSHUFD $0x55, X4, X6        // hi ×4
	VINSERTI128 $1, X6, Y5, Y5
	VMOVDQU Y5, (R9)
	// q: pack to bytes, then put the dword groups back in order
	VPACKSSDW Y1, Y0, Y0
	VPACKSSDW Y3, Y2, Y2
	VPACKSSWB Y2, Y0, Y0
	VPERMD Y0, Y12, Y0
	VMOVDQU Y0, (DI)
	VPABSB Y0, Y0
	VMOVDQU Y0, (BX)
	ADDQ $128, SI
	ADDQ $32, DI
	ADDQ $32, BX
	ADDQ $4, R8
	ADDQ $32, R9
	DECQ CX
	JNZ  qxloop
	VZEROUPPER
	RET

// func dotF16Rows(n int, x *float32, w *byte, ldw, rows int, out *float32)
//
// out[r] = Σ_{i<n} x[i]·half(w[r·ldw + 2i]) for r < rows (≥ 1), n a positive
// multiple of 16. Each row: four accumulators over 32 values per iteration,
// a 16-value tail, then the same reduction. The rows are read one after
// another (adjacent rows of a matrix–vector product: one sequential
// stream), and a row's sum does not depend on how many rows a call takes.
TEXT ·dotF16Rows(SB), NOSPLIT, $0-48
	MOVQ w+16(FP), R10           // row r
	MOVQ ldw+24(FP), R8
	MOVQ rows+32(FP), R11        // rows left
	MOVQ out+40(FP), R9

f4row:
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	MOVQ R10, DI
	MOVQ n+0(FP), CX
	MOVQ x+8(FP), SI

f4loop32:
	CMPQ CX, $32
	JLT  f4tail16
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
	JMP  f4loop32

f4tail16:
	CMPQ CX, $16
	JLT  f4reduce
	VCVTPH2PS (DI), Y0
	VCVTPH2PS 16(DI), Y1
	VFMADD231PS (SI), Y0, Y4
	VFMADD231PS 32(SI), Y1, Y5

f4reduce:
	VADDPS Y5, Y4, Y4
	VADDPS Y7, Y6, Y6
	VADDPS Y6, Y4, Y4
	VEXTRACTF128 $1, Y4, X5
	VADDPS X5, X4, X4
	VHADDPS X4, X4, X4
	VHADDPS X4, X4, X4
	MOVSS X4, (R9)
	ADDQ R8, R10
	ADDQ $4, R9
	DECQ R11
	JNZ  f4row
	VZEROUPPER
	RET
