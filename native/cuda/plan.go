package cuda

import (
	"fmt"
	"os"
	"sort"
)

// This file holds the engine's host-side arithmetic that needs no GPU and
// no cgo: launch shapes, the head-dim variants of the attention kernels, the
// row-major → column-major mapping of cuBLASLt calls, the cuBLASLt library
// search order, the grouping of scatter-add rows and the allocator's size
// classes. It builds (and is tested) without the cuda tag.

// dim3 is a CUDA grid or block shape.
type dim3 struct{ X, Y, Z uint32 }

// Launch-shape constants shared with kernels/*.cu (see each file's header).
const (
	blockElem     = 256 // threads of the grid-stride elementwise kernels
	rowsPerBlock  = 8   // warp-per-row kernels: 256 threads = 8 rows
	normBwdRows   = 32  // NORM_BWD_ROWS in norm.cu
	attnRows      = 32  // queries (fwd, dq) or keys (dkdv) per attention block
	attnThreads   = 128 // threads of an attention block
	gemmTile      = 64  // output tile of both GEMM kernels
	gemmBF16Block = 128 // threads of mm_gemm_bf16
	gemmF32Block  = 256 // threads of mm_gemm_f32
	sumsqBlocks   = 256 // fixed grid of mm_sumsq: the host sums this many partials
)

// gridStride returns the grid of a grid-stride kernel over n items with
// blocks of `block` threads, at most limit blocks (and at least one).
func gridStride(n int64, block, limit int) dim3 {
	g := (n + int64(block) - 1) / int64(block)
	g = max(1, min(g, int64(limit)))
	return dim3{uint32(g), 1, 1}
}

// ceilDiv is ⌈a/b⌉ for positive b.
func ceilDiv(a, b int) int { return (a + b - 1) / b }

// warpRows returns the grid of a one-warp-per-row kernel (8 rows a block).
func warpRows(rows int) dim3 { return dim3{uint32(max(1, ceilDiv(rows, rowsPerBlock))), 1, 1} }

// attnHeadDims are the head-dim variants compiled into attention.cu.
var attnHeadDims = []int{16, 32, 64, 80, 96, 128}

// attnVariant returns the smallest compiled head-dim variant ≥ hd.
func attnVariant(hd int) (int, error) {
	for _, v := range attnHeadDims {
		if hd <= v {
			return v, nil
		}
	}
	return 0, fmt.Errorf("cuda: head_dim %d is larger than the attention kernels' maximum %d", hd, attnHeadDims[len(attnHeadDims)-1])
}

// attnGrid is the grid of the query-side attention kernels: a block per
// (32-query tile, head, sequence); the key-side kernel uses (32-key tile,
// kv head, sequence).
func attnGrid(T, heads, B int) dim3 {
	return dim3{uint32(ceilDiv(T, attnRows)), uint32(heads), uint32(B)}
}

// tcWarps is the number of warps (16 query rows each) of the tensor-core
// attention kernels' query-side blocks (attention_tc.cu: TC<HDP>::NW).
func tcWarps(hdp int) int {
	if hdp <= 64 {
		return 4
	}
	return 2
}

// tcGrid returns the grid and block of the tensor-core attention kernels:
// the query side (forward, dq) and the key side (dk/dv: 32 keys, 2 warps).
func tcGrid(T, heads, kvHeads, B, hdp int) (q, qBlock, k, kBlock dim3) {
	nw := tcWarps(hdp)
	return dim3{uint32(ceilDiv(T, 16*nw)), uint32(heads), uint32(B)}, dim3{uint32(32 * nw), 1, 1},
		dim3{uint32(ceilDiv(T, 32)), uint32(kvHeads), uint32(B)}, dim3{64, 1, 1}
}

// gemmGrid is the grid of both GEMM kernels: a block per 64×64 tile of C [M, N].
func gemmGrid(M, N int) dim3 {
	return dim3{uint32(ceilDiv(N, gemmTile)), uint32(ceilDiv(M, gemmTile)), 1}
}

// gemmShape describes C [M, N] (row stride ldc) = alpha·op(A)·op(B) + beta·C
// in row-major terms, as the engine's kernels take it: op(A) [M, K] is A
// stored [M, K] (TransA false, row stride lda) or [K, M] (TransA true);
// op(B) [K, N] is B stored [K, N] (TransB false) or [N, K] (TransB true).
type gemmShape struct {
	M, N, K       int
	LDA, LDB, LDC int
	TransA        bool
	TransB        bool
}

// ltCall is one column-major cuBLASLt matmul D = op(X)·op(Y) (+ beta·D):
// X, the first operand, is B's buffer and Y, the second, is A's (row-major
// C = A·B is column-major Cᵀ = Bᵀ·Aᵀ); each is described as stored (rows ×
// cols, leading dimension) before its op.
type ltCall struct {
	OpX, OpY     bool // transpose the stored matrix
	M, N, K      int  // D is M × N, column-major
	XRows, XCols int
	LDX          int
	YRows, YCols int
	LDY          int
	DRows, DCols int
	LDD          int
}

// ltPlan maps a row-major product to cuBLASLt's column-major convention. A
// row-major [R, C] buffer with row stride ld is the column-major [C, R]
// matrix (its transpose) with leading dimension ld, so row-major
// C = op(A)·op(B) is column-major Cᵀ = op(B)ᵀ·op(A)ᵀ: the first cuBLASLt
// operand is B's buffer and the second is A's.
func ltPlan(s gemmShape) ltCall {
	c := ltCall{M: s.N, N: s.M, K: s.K}
	// X = B's buffer. op(B)ᵀ [N, K] is needed. B stored [K, N] row-major is
	// column-major [N, K] (no op); B stored [N, K] is column-major [K, N] (op T).
	if s.TransB {
		c.OpX, c.XRows, c.XCols = true, s.K, s.N
	} else {
		c.XRows, c.XCols = s.N, s.K
	}
	c.LDX = s.LDB
	// Y = A's buffer. op(A)ᵀ [K, M] is needed. A stored [M, K] is column-major
	// [K, M] (no op); A stored [K, M] is column-major [M, K] (op T).
	if s.TransA {
		c.OpY, c.YRows, c.YCols = true, s.M, s.K
	} else {
		c.YRows, c.YCols = s.K, s.M
	}
	c.LDY = s.LDA
	c.DRows, c.DCols, c.LDD = s.N, s.M, s.LDC
	return c
}

// cublasLtSonames are the cuBLASLt libraries tried, newest first.
var cublasLtSonames = []string{"libcublasLt.so.13", "libcublasLt.so.12", "libcublasLt.so.11"}

// cublasLtEnv names the environment variable that may hold the path of a
// cuBLASLt library to try first (e.g. inside a PyTorch install's
// nvidia/cublas/lib folder).
const cublasLtEnv = "MINIMIND_CUBLASLT"

// cublasLtCandidates lists the libraries to dlopen, in order: an explicit
// path, the environment variable's path, then the sonames newest first.
func cublasLtCandidates(explicit string, getenv func(string) string) []string {
	if getenv == nil {
		getenv = os.Getenv
	}
	var c []string
	for _, p := range []string{explicit, getenv(cublasLtEnv)} {
		if p != "" {
			c = append(c, p)
		}
	}
	return append(c, cublasLtSonames...)
}

// segments groups the items of a scatter-add by destination row: for the
// s-th distinct row (ascending), rows[items[start[s]:start[s+1]]] all equal
// segRow[s], and within a segment the items ascend (the CPU engine's order
// of accumulation). bound > every row lets it use a counting sort.
func segments(rows []int32, bound int) (start, items, segRow []int32) {
	n := len(rows)
	items = make([]int32, n)
	if bound > 0 && bound <= 4*n+1024 {
		count := make([]int32, bound+1)
		for _, r := range rows {
			count[r+1]++
		}
		for i := 1; i <= bound; i++ {
			count[i] += count[i-1]
		}
		pos := append([]int32(nil), count[:bound]...)
		for i, r := range rows {
			items[pos[r]] = int32(i)
			pos[r]++
		}
	} else {
		for i := range items {
			items[i] = int32(i)
		}
		sort.SliceStable(items, func(a, b int) bool { return rows[items[a]] < rows[items[b]] })
	}
	for i, it := range items {
		if i == 0 || rows[it] != rows[items[i-1]] {
			start = append(start, int32(i))
			segRow = append(segRow, rows[it])
		}
	}
	start = append(start, int32(n))
	return start, items, segRow
}

// sizeClass rounds an allocation up so that freed buffers can be reused by
// requests of a similar size: 512 bytes below 1 MiB, 1 MiB above.
func sizeClass(bytes int) int {
	const small, big = 512, 1 << 20
	if bytes <= 0 {
		return small
	}
	if bytes < big {
		return (bytes + small - 1) / small * small
	}
	return (bytes + big - 1) / big * big
}
