//go:build amd64 && !purego

#include "textflag.h"

// One step of the 6×16 micro kernel: B row q (16 floats) in Y0:Y1, the six
// A values of column q broadcast in turn into Y2/Y3, accumulators Y4..Y15
// (row r in Y(4+2r):Y(5+2r)).
#define STEP(ao, bo) \
	VMOVUPS bo(DI), Y0; \
	VMOVUPS bo+32(DI), Y1; \
	VBROADCASTSS ao(SI), Y2; \
	VBROADCASTSS ao+4(SI), Y3; \
	VFMADD231PS Y0, Y2, Y4; \
	VFMADD231PS Y1, Y2, Y5; \
	VFMADD231PS Y0, Y3, Y6; \
	VFMADD231PS Y1, Y3, Y7; \
	VBROADCASTSS ao+8(SI), Y2; \
	VBROADCASTSS ao+12(SI), Y3; \
	VFMADD231PS Y0, Y2, Y8; \
	VFMADD231PS Y1, Y2, Y9; \
	VFMADD231PS Y0, Y3, Y10; \
	VFMADD231PS Y1, Y3, Y11; \
	VBROADCASTSS ao+16(SI), Y2; \
	VBROADCASTSS ao+20(SI), Y3; \
	VFMADD231PS Y0, Y2, Y12; \
	VFMADD231PS Y1, Y2, Y13; \
	VFMADD231PS Y0, Y3, Y14; \
	VFMADD231PS Y1, Y3, Y15

// Row r of the tile at DX: add the old values (when loading) and store.
#define ADDROW(lo, hi) \
	VADDPS (DX), lo, lo; \
	VADDPS 32(DX), hi, hi; \
	VMOVUPS lo, (DX); \
	VMOVUPS hi, 32(DX); \
	ADDQ R8, DX

#define STOREROW(lo, hi) \
	VMOVUPS lo, (DX); \
	VMOVUPS hi, 32(DX); \
	ADDQ R8, DX

// func kern6x16(kc int, a, b, c *float32, ldc int, load bool)
//
// a: packed A panel [kc, 6]; b: packed B panel [kc, 16]; c: tile [6, ldc].
TEXT ·kern6x16(SB), NOSPLIT, $0-41
	MOVQ kc+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	MOVQ c+24(FP), DX
	MOVQ ldc+32(FP), R8
	SHLQ $2, R8
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	VXORPS Y12, Y12, Y12
	VXORPS Y13, Y13, Y13
	VXORPS Y14, Y14, Y14
	VXORPS Y15, Y15, Y15
	MOVQ CX, R9
	SHRQ $2, R9
	ANDQ $3, CX
	TESTQ R9, R9
	JZ   ktail

kloop4:
	PREFETCHT0 512(DI)
	STEP(0, 0)
	STEP(24, 64)
	PREFETCHT0 576(DI)
	STEP(48, 128)
	STEP(72, 192)
	ADDQ $96, SI
	ADDQ $256, DI
	DECQ R9
	JNZ  kloop4

ktail:
	TESTQ CX, CX
	JZ    kstore

kloop1:
	STEP(0, 0)
	ADDQ $24, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  kloop1

kstore:
	MOVBLZX load+40(FP), AX
	TESTL   AX, AX
	JZ      kput
	ADDROW(Y4, Y5)
	ADDROW(Y6, Y7)
	ADDROW(Y8, Y9)
	ADDROW(Y10, Y11)
	ADDROW(Y12, Y13)
	ADDROW(Y14, Y15)
	VZEROUPPER
	RET

kput:
	STOREROW(Y4, Y5)
	STOREROW(Y6, Y7)
	STOREROW(Y8, Y9)
	STOREROW(Y10, Y11)
	STOREROW(Y12, Y13)
	STOREROW(Y14, Y15)
	VZEROUPPER
	RET

// func dot4x8(k int, x, b *float32, ldb int, out *[4]float32)
//
// x [k]; four rows of b [4, ldb]; k a positive multiple of 8. Two
// accumulators per row (Y4..Y11) over 16 columns per iteration, the tail of
// 8 columns into the first. The rows are read one after another, not
// interleaved: in a matrix–vector product the four rows are adjacent in
// memory, so this reads one sequential stream, which the hardware
// prefetcher follows at nearly the full read bandwidth (four interleaved
// streams reached about half of it). Each row's sums are the same as when
// the rows were interleaved, bit for bit.
TEXT ·dot4x8(SB), NOSPLIT, $0-40
	MOVQ k+0(FP), CX
	MOVQ x+8(FP), SI
	MOVQ b+16(FP), R10
	MOVQ ldb+24(FP), R8
	SHLQ $2, R8
	LEAQ (R10)(R8*1), R11
	LEAQ (R11)(R8*1), R12
	LEAQ (R12)(R8*1), R13
	SHLQ $2, CX              // k in bytes
	MOVQ CX, DX
	ANDQ $-64, DX            // bytes covered by 16-float steps

	// row 0: Y4, Y5
	VXORPS Y4, Y4, Y4
	VXORPS Y5, Y5, Y5
	XORQ AX, AX

d4r0loop16:
	CMPQ AX, DX
	JGE  d4r0tail8
	VMOVUPS (SI)(AX*1), Y0
	VMOVUPS 32(SI)(AX*1), Y1
	VFMADD231PS (R10)(AX*1), Y0, Y4
	VFMADD231PS 32(R10)(AX*1), Y1, Y5
	ADDQ $64, AX
	JMP  d4r0loop16

d4r0tail8:
	CMPQ AX, CX
	JGE  d4r0done
	VMOVUPS (SI)(AX*1), Y0
	VFMADD231PS (R10)(AX*1), Y0, Y4

d4r0done:
	// row 1: Y6, Y7
	VXORPS Y6, Y6, Y6
	VXORPS Y7, Y7, Y7
	XORQ AX, AX

d4r1loop16:
	CMPQ AX, DX
	JGE  d4r1tail8
	VMOVUPS (SI)(AX*1), Y0
	VMOVUPS 32(SI)(AX*1), Y1
	VFMADD231PS (R11)(AX*1), Y0, Y6
	VFMADD231PS 32(R11)(AX*1), Y1, Y7
	ADDQ $64, AX
	JMP  d4r1loop16

d4r1tail8:
	CMPQ AX, CX
	JGE  d4r1done
	VMOVUPS (SI)(AX*1), Y0
	VFMADD231PS (R11)(AX*1), Y0, Y6

d4r1done:
	// row 2: Y8, Y9
	VXORPS Y8, Y8, Y8
	VXORPS Y9, Y9, Y9
	XORQ AX, AX

d4r2loop16:
	CMPQ AX, DX
	JGE  d4r2tail8
	VMOVUPS (SI)(AX*1), Y0
	VMOVUPS 32(SI)(AX*1), Y1
	VFMADD231PS (R12)(AX*1), Y0, Y8
	VFMADD231PS 32(R12)(AX*1), Y1, Y9
	ADDQ $64, AX
	JMP  d4r2loop16

d4r2tail8:
	CMPQ AX, CX
	JGE  d4r2done
	VMOVUPS (SI)(AX*1), Y0
	VFMADD231PS (R12)(AX*1), Y0, Y8

d4r2done:
	// row 3: Y10, Y11
	VXORPS Y10, Y10, Y10
	VXORPS Y11, Y11, Y11
	XORQ AX, AX

d4r3loop16:
	CMPQ AX, DX
	JGE  d4r3tail8
	VMOVUPS (SI)(AX*1), Y0
	VMOVUPS 32(SI)(AX*1), Y1
	VFMADD231PS (R13)(AX*1), Y0, Y10
	VFMADD231PS 32(R13)(AX*1), Y1, Y11
	ADDQ $64, AX
	JMP  d4r3loop16

d4r3tail8:
	CMPQ AX, CX
	JGE  d4r3done
	VMOVUPS (SI)(AX*1), Y0
	VFMADD231PS (R13)(AX*1), Y0, Y10

d4r3done:
	VADDPS Y5, Y4, Y4        // row 0
	VADDPS Y7, Y6, Y6        // row 1
	VADDPS Y9, Y8, Y8        // row 2
	VADDPS Y11, Y10, Y10     // row 3
	VHADDPS Y6, Y4, Y4       // [r0 r0 r1 r1 | r0 r0 r1 r1]
	VHADDPS Y10, Y8, Y8      // [r2 r2 r3 r3 | r2 r2 r3 r3]
	VHADDPS Y8, Y4, Y4       // [r0 r1 r2 r3 | r0 r1 r2 r3]
	VEXTRACTF128 $1, Y4, X5
	VADDPS X5, X4, X4
	MOVQ out+32(FP), DI
	VMOVUPS X4, (DI)
	VZEROUPPER
	RET

// func dotx8(n int, a, b *float32) float32
TEXT ·dotx8(SB), NOSPLIT, $0-28
	MOVQ n+0(FP), CX
	MOVQ a+8(FP), SI
	MOVQ b+16(FP), DI
	VXORPS Y0, Y0, Y0
	VXORPS Y1, Y1, Y1
	VXORPS Y2, Y2, Y2
	VXORPS Y3, Y3, Y3
	SHLQ $2, CX
	MOVQ CX, DX
	ANDQ $-128, DX
	XORQ AX, AX

dloop32:
	CMPQ AX, DX
	JGE  dloop8
	VMOVUPS (SI)(AX*1), Y4
	VMOVUPS 32(SI)(AX*1), Y5
	VMOVUPS 64(SI)(AX*1), Y6
	VMOVUPS 96(SI)(AX*1), Y7
	VFMADD231PS (DI)(AX*1), Y4, Y0
	VFMADD231PS 32(DI)(AX*1), Y5, Y1
	VFMADD231PS 64(DI)(AX*1), Y6, Y2
	VFMADD231PS 96(DI)(AX*1), Y7, Y3
	ADDQ $128, AX
	JMP  dloop32

dloop8:
	CMPQ AX, CX
	JGE  dreduce
	VMOVUPS (SI)(AX*1), Y4
	VFMADD231PS (DI)(AX*1), Y4, Y0
	ADDQ $32, AX
	JMP  dloop8

dreduce:
	VADDPS Y1, Y0, Y0
	VADDPS Y3, Y2, Y2
	VADDPS Y2, Y0, Y0
	VEXTRACTF128 $1, Y0, X1
	VADDPS X1, X0, X0
	VHADDPS X0, X0, X0
	VHADDPS X0, X0, X0
	VMOVSS X0, ret+24(FP)
	VZEROUPPER
	RET

// func axpyx8(n int, alpha float32, x, y *float32)
TEXT ·axpyx8(SB), NOSPLIT, $0-32
	MOVQ n+0(FP), CX
	VBROADCASTSS alpha+8(FP), Y0
	MOVQ x+16(FP), SI
	MOVQ y+24(FP), DI
	SHLQ $2, CX
	MOVQ CX, DX
	ANDQ $-128, DX
	XORQ AX, AX

aloop32:
	CMPQ AX, DX
	JGE  aloop8
	VMOVUPS (DI)(AX*1), Y4
	VMOVUPS 32(DI)(AX*1), Y5
	VMOVUPS 64(DI)(AX*1), Y6
	VMOVUPS 96(DI)(AX*1), Y7
	VFMADD231PS (SI)(AX*1), Y0, Y4
	VFMADD231PS 32(SI)(AX*1), Y0, Y5
	VFMADD231PS 64(SI)(AX*1), Y0, Y6
	VFMADD231PS 96(SI)(AX*1), Y0, Y7
	VMOVUPS Y4, (DI)(AX*1)
	VMOVUPS Y5, 32(DI)(AX*1)
	VMOVUPS Y6, 64(DI)(AX*1)
	VMOVUPS Y7, 96(DI)(AX*1)
	ADDQ $128, AX
	JMP  aloop32

aloop8:
	CMPQ AX, CX
	JGE  adone
	VMOVUPS (DI)(AX*1), Y4
	VFMADD231PS (SI)(AX*1), Y0, Y4
	VMOVUPS Y4, (DI)(AX*1)
	ADDQ $32, AX
	JMP  aloop8

adone:
	VZEROUPPER
	RET

// func scalex8(n int, alpha float32, x *float32)
TEXT ·scalex8(SB), NOSPLIT, $0-24
	MOVQ n+0(FP), CX
	VBROADCASTSS alpha+8(FP), Y0
	MOVQ x+16(FP), SI
	SHLQ $2, CX
	MOVQ CX, DX
	ANDQ $-128, DX
	XORQ AX, AX

sloop32:
	CMPQ AX, DX
	JGE  sloop8
	VMULPS (SI)(AX*1), Y0, Y4
	VMULPS 32(SI)(AX*1), Y0, Y5
	VMULPS 64(SI)(AX*1), Y0, Y6
	VMULPS 96(SI)(AX*1), Y0, Y7
	VMOVUPS Y4, (SI)(AX*1)
	VMOVUPS Y5, 32(SI)(AX*1)
	VMOVUPS Y6, 64(SI)(AX*1)
	VMOVUPS Y7, 96(SI)(AX*1)
	ADDQ $128, AX
	JMP  sloop32

sloop8:
	CMPQ AX, CX
	JGE  sdone
	VMULPS (SI)(AX*1), Y0, Y4
	VMOVUPS Y4, (SI)(AX*1)
	ADDQ $32, AX
	JMP  sloop8

sdone:
	VZEROUPPER
	RET

// Transpose the 8×8 block held in Y0..Y7 (row r in Yr) into columns:
// afterwards column c is in Y(8+c) for c = 0..7 (via Y8..Y15 as scratch).
#define TRANSPOSE8X8 \
	VUNPCKLPS Y1, Y0, Y8; \
	VUNPCKHPS Y1, Y0, Y9; \
	VUNPCKLPS Y3, Y2, Y10; \
	VUNPCKHPS Y3, Y2, Y11; \
	VUNPCKLPS Y5, Y4, Y12; \
	VUNPCKHPS Y5, Y4, Y13; \
	VUNPCKLPS Y7, Y6, Y14; \
	VUNPCKHPS Y7, Y6, Y15; \
	VSHUFPS $0x44, Y10, Y8, Y0; \
	VSHUFPS $0xEE, Y10, Y8, Y1; \
	VSHUFPS $0x44, Y11, Y9, Y2; \
	VSHUFPS $0xEE, Y11, Y9, Y3; \
	VSHUFPS $0x44, Y14, Y12, Y4; \
	VSHUFPS $0xEE, Y14, Y12, Y5; \
	VSHUFPS $0x44, Y15, Y13, Y6; \
	VSHUFPS $0xEE, Y15, Y13, Y7; \
	VINSERTF128 $1, X4, Y0, Y8; \
	VPERM2F128 $0x31, Y4, Y0, Y12; \
	VINSERTF128 $1, X5, Y1, Y9; \
	VPERM2F128 $0x31, Y5, Y1, Y13; \
	VINSERTF128 $1, X6, Y2, Y10; \
	VPERM2F128 $0x31, Y6, Y2, Y14; \
	VINSERTF128 $1, X7, Y3, Y11; \
	VPERM2F128 $0x31, Y7, Y3, Y15

#define LOAD8ROWS(p0, p1) \
	VMOVUPS (p0), Y0; \
	VMOVUPS (p0)(R8*1), Y1; \
	VMOVUPS (p0)(R8*2), Y2; \
	VMOVUPS (p0)(R9*1), Y3; \
	VMOVUPS (p1), Y4; \
	VMOVUPS (p1)(R8*1), Y5; \
	VMOVUPS (p1)(R8*2), Y6; \
	VMOVUPS (p1)(R9*1), Y7

#define STORE8COLS(off) \
	VMOVUPS Y8, off(DI); \
	VMOVUPS Y9, off+64(DI); \
	VMOVUPS Y10, off+128(DI); \
	VMOVUPS Y11, off+192(DI); \
	VMOVUPS Y12, off+256(DI); \
	VMOVUPS Y13, off+320(DI); \
	VMOVUPS Y14, off+384(DI); \
	VMOVUPS Y15, off+448(DI)

// func pack16x8(dst, src *float32, ld, kc int)
//
// dst [kc, 16] gets dst[q*16+r] = src[r*ld+q] for r < 16, q < kc; kc is a
// positive multiple of 8. Two 8×8 transposes per 8 columns.
TEXT ·pack16x8(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), R8
	MOVQ kc+24(FP), CX
	SHLQ $2, R8                 // row stride in bytes
	LEAQ (R8)(R8*2), R9         // 3 rows
	LEAQ (SI)(R8*4), R10        // row 4
	LEAQ (R10)(R8*4), R11       // row 8
	LEAQ (R11)(R8*4), R12       // row 12
	SHRQ $3, CX

p16loop:
	LOAD8ROWS(SI, R10)
	TRANSPOSE8X8
	STORE8COLS(0)
	LOAD8ROWS(R11, R12)
	TRANSPOSE8X8
	STORE8COLS(32)
	ADDQ $32, SI
	ADDQ $32, R10
	ADDQ $32, R11
	ADDQ $32, R12
	ADDQ $512, DI
	DECQ CX
	JNZ  p16loop
	VZEROUPPER
	RET

// func pack6x8(dst, src *float32, ld, kc int)
//
// dst [kc, 6] gets dst[q*6+r] = src[r*ld+q] for r < 6, q < kc; kc is a
// positive multiple of 8.
TEXT ·pack6x8(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ ld+16(FP), R8
	MOVQ kc+24(FP), CX
	SHLQ $2, R8
	LEAQ (R8)(R8*2), R9
	LEAQ (SI)(R8*4), R10        // row 4
	SHRQ $3, CX

p6loop:
	VMOVUPS (SI), Y0
	VMOVUPS (SI)(R8*1), Y1
	VMOVUPS (SI)(R8*2), Y2
	VMOVUPS (SI)(R9*1), Y3
	VMOVUPS (R10), Y4
	VMOVUPS (R10)(R8*1), Y5
	VUNPCKLPS Y1, Y0, Y8        // [c0: r0 r1, c1: r0 r1 | c4, c5]
	VUNPCKHPS Y1, Y0, Y9        // [c2, c3 | c6, c7]
	VUNPCKLPS Y3, Y2, Y10
	VUNPCKHPS Y3, Y2, Y11
	VUNPCKLPS Y5, Y4, Y12       // rows 4-5: [c0, c1 | c4, c5]
	VUNPCKHPS Y5, Y4, Y13       // [c2, c3 | c6, c7]
	VSHUFPS $0x44, Y10, Y8, Y0  // rows 0-3 of [c0 | c4]
	VSHUFPS $0xEE, Y10, Y8, Y1  // [c1 | c5]
	VSHUFPS $0x44, Y11, Y9, Y2  // [c2 | c6]
	VSHUFPS $0xEE, Y11, Y9, Y3  // [c3 | c7]
	VEXTRACTF128 $1, Y12, X14   // rows 4-5 of c4, c5
	VEXTRACTF128 $1, Y13, X15   // rows 4-5 of c6, c7
	VMOVUPS X0, 0(DI)
	VMOVQ   X12, 16(DI)
	VMOVUPS X1, 24(DI)
	VMOVHPS X12, 40(DI)
	VMOVUPS X2, 48(DI)
	VMOVQ   X13, 64(DI)
	VMOVUPS X3, 72(DI)
	VMOVHPS X13, 88(DI)
	VEXTRACTF128 $1, Y0, 96(DI)
	VMOVQ   X14, 112(DI)
	VEXTRACTF128 $1, Y1, 120(DI)
	VMOVHPS X14, 136(DI)
	VEXTRACTF128 $1, Y2, 144(DI)
	VMOVQ   X15, 160(DI)
	VEXTRACTF128 $1, Y3, 168(DI)
	VMOVHPS X15, 184(DI)
	ADDQ $32, SI
	ADDQ $32, R10
	ADDQ $192, DI
	DECQ CX
	JNZ  p6loop
	VZEROUPPER
	RET

// func copyRows16(dst *float32, ps int, src *float32, ld, kc, panels int)
//
// For q < kc and c < panels: dst[c*ps + q*16 : +16] = src[q*ld + c*16 : +16].
TEXT ·copyRows16(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ ps+8(FP), R9
	MOVQ src+16(FP), SI
	MOVQ ld+24(FP), R8
	MOVQ kc+32(FP), CX
	MOVQ panels+40(FP), DX
	SHLQ $2, R8              // source row stride in bytes
	SHLQ $2, R9              // panel stride in bytes

cr16row:
	MOVQ SI, R10
	MOVQ DI, R11
	MOVQ DX, BX

cr16col:
	VMOVUPS (R10), Y0
	VMOVUPS 32(R10), Y1
	VMOVUPS Y0, (R11)
	VMOVUPS Y1, 32(R11)
	ADDQ $64, R10
	ADDQ R9, R11
	DECQ BX
	JNZ  cr16col
	ADDQ R8, SI
	ADDQ $64, DI
	DECQ CX
	JNZ  cr16row
	VZEROUPPER
	RET

// func copyRows6(dst *float32, ps int, src *float32, ld, kc, panels int)
//
// For q < kc and c < panels: dst[c*ps + q*6 : +6] = src[q*ld + c*6 : +6].
TEXT ·copyRows6(SB), NOSPLIT, $0-48
	MOVQ dst+0(FP), DI
	MOVQ ps+8(FP), R9
	MOVQ src+16(FP), SI
	MOVQ ld+24(FP), R8
	MOVQ kc+32(FP), CX
	MOVQ panels+40(FP), DX
	SHLQ $2, R8              // source row stride in bytes
	SHLQ $2, R9              // panel stride in bytes

cr6row:
	MOVQ SI, R10
	MOVQ DI, R11
	MOVQ DX, BX

cr6col:
	VMOVUPS (R10), X0
	VMOVQ   16(R10), X1
	VMOVUPS X0, (R11)
	VMOVQ   X1, 16(R11)
	ADDQ $24, R10
	ADDQ R9, R11
	DECQ BX
	JNZ  cr6col
	ADDQ R8, SI
	ADDQ $24, DI
	DECQ CX
	JNZ  cr6row
	RET

// func axpy4x8(n int, alpha *[4]float32, b *float32, ldb int, y *float32)
//
// y[j] += Σ_{r<4} alpha[r]·b[r*ldb+j] for j < n; n is a positive multiple of
// 8. Four independent chunks of 8 per iteration hide the FMA latency.
TEXT ·axpy4x8(SB), NOSPLIT, $0-40
	MOVQ n+0(FP), CX
	MOVQ alpha+8(FP), SI
	VBROADCASTSS 0(SI), Y0
	VBROADCASTSS 4(SI), Y1
	VBROADCASTSS 8(SI), Y2
	VBROADCASTSS 12(SI), Y3
	MOVQ b+16(FP), R10
	MOVQ ldb+24(FP), R8
	SHLQ $2, R8
	LEAQ (R10)(R8*1), R11
	LEAQ (R11)(R8*1), R12
	LEAQ (R12)(R8*1), R13
	MOVQ y+32(FP), DI
	SHLQ $2, CX
	MOVQ CX, DX
	ANDQ $-128, DX
	XORQ AX, AX

x4loop32:
	CMPQ AX, DX
	JGE  x4loop8
	VMOVUPS (DI)(AX*1), Y4
	VMOVUPS 32(DI)(AX*1), Y5
	VMOVUPS 64(DI)(AX*1), Y6
	VMOVUPS 96(DI)(AX*1), Y7
	VFMADD231PS (R10)(AX*1), Y0, Y4
	VFMADD231PS 32(R10)(AX*1), Y0, Y5
	VFMADD231PS 64(R10)(AX*1), Y0, Y6
	VFMADD231PS 96(R10)(AX*1), Y0, Y7
	VFMADD231PS (R11)(AX*1), Y1, Y4
	VFMADD231PS 32(R11)(AX*1), Y1, Y5
	VFMADD231PS 64(R11)(AX*1), Y1, Y6
	VFMADD231PS 96(R11)(AX*1), Y1, Y7
	VFMADD231PS (R12)(AX*1), Y2, Y4
	VFMADD231PS 32(R12)(AX*1), Y2, Y5
	VFMADD231PS 64(R12)(AX*1), Y2, Y6
	VFMADD231PS 96(R12)(AX*1), Y2, Y7
	VFMADD231PS (R13)(AX*1), Y3, Y4
	VFMADD231PS 32(R13)(AX*1), Y3, Y5
	VFMADD231PS 64(R13)(AX*1), Y3, Y6
	VFMADD231PS 96(R13)(AX*1), Y3, Y7
	VMOVUPS Y4, (DI)(AX*1)
	VMOVUPS Y5, 32(DI)(AX*1)
	VMOVUPS Y6, 64(DI)(AX*1)
	VMOVUPS Y7, 96(DI)(AX*1)
	ADDQ $128, AX
	JMP  x4loop32

x4loop8:
	CMPQ AX, CX
	JGE  x4done
	VMOVUPS (DI)(AX*1), Y4
	VFMADD231PS (R10)(AX*1), Y0, Y4
	VFMADD231PS (R11)(AX*1), Y1, Y4
	VFMADD231PS (R12)(AX*1), Y2, Y4
	VFMADD231PS (R13)(AX*1), Y3, Y4
	VMOVUPS Y4, (DI)(AX*1)
	ADDQ $32, AX
	JMP  x4loop8

x4done:
	VZEROUPPER
	RET
