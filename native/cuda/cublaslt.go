//go:build cuda

package cuda

// A thin binding of the part of cuBLASLt the engine uses, loaded at run time
// with dlopen (the binary links only libcuda.so.1, so one build runs with
// CUDA 11, 12 or 13 libraries). The types and enum values are cuBLASLt's
// (cublasLt.h, library_types.h), written out here so that no cuBLAS header
// or library is needed to build.

/*
#cgo LDFLAGS: -ldl
#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

typedef int lt_status;  // cublasStatus_t, 0 = success
typedef struct { uint64_t data[8]; } lt_algo;  // cublasLtMatmulAlgo_t
typedef struct {                                // cublasLtMatmulHeuristicResult_t
	lt_algo algo;
	size_t workspaceSize;
	lt_status state;
	float wavesCount;
	int reserved[4];
} lt_heur;

enum {
	LT_R_32F = 0, LT_R_16BF = 14,           // cudaDataType
	LT_COMPUTE_32F = 68,                    // cublasComputeType_t
	LT_DESC_TRANSA = 3, LT_DESC_TRANSB = 4, // cublasLtMatmulDescAttributes_t (int32 values)
	LT_PREF_MAX_WORKSPACE_BYTES = 1         // cublasLtMatmulPreferenceAttributes_t (uint64 value)
};

// lt_api holds one loaded library's entry points.
typedef struct {
	void* lib;
	lt_status (*create)(void**);
	lt_status (*destroy)(void*);
	size_t (*version)(void);
	lt_status (*desc_create)(void**, int, int);
	lt_status (*desc_destroy)(void*);
	lt_status (*desc_set)(void*, int, const void*, size_t);
	lt_status (*layout_create)(void**, int, uint64_t, uint64_t, int64_t);
	lt_status (*layout_destroy)(void*);
	lt_status (*pref_create)(void**);
	lt_status (*pref_destroy)(void*);
	lt_status (*pref_set)(void*, int, const void*, size_t);
	lt_status (*heur)(void*, void*, void*, void*, void*, void*, void*, int, lt_heur*, int*);
	lt_status (*matmul)(void*, void*, const void*, const void*, void*, const void*, void*, const void*,
	                    const void*, void*, void*, void*, const lt_algo*, void*, size_t, void*);
} lt_api;

// lt_open loads the library at path into *a; NULL on success, else a message.
static const char* lt_open(const char* path, lt_api* a) {
	memset(a, 0, sizeof *a);
	void* h = dlopen(path, RTLD_NOW | RTLD_LOCAL);
	if (!h) return dlerror();
#define SYM(f, name) if (!(*(void**)(&a->f) = dlsym(h, name))) { dlclose(h); return "missing symbol " name; }
	SYM(create, "cublasLtCreate")
	SYM(destroy, "cublasLtDestroy")
	SYM(version, "cublasLtGetVersion")
	SYM(desc_create, "cublasLtMatmulDescCreate")
	SYM(desc_destroy, "cublasLtMatmulDescDestroy")
	SYM(desc_set, "cublasLtMatmulDescSetAttribute")
	SYM(layout_create, "cublasLtMatrixLayoutCreate")
	SYM(layout_destroy, "cublasLtMatrixLayoutDestroy")
	SYM(pref_create, "cublasLtMatmulPreferenceCreate")
	SYM(pref_destroy, "cublasLtMatmulPreferenceDestroy")
	SYM(pref_set, "cublasLtMatmulPreferenceSetAttribute")
	SYM(heur, "cublasLtMatmulAlgoGetHeuristic")
	SYM(matmul, "cublasLtMatmul")
#undef SYM
	a->lib = h;
	return NULL;
}

static lt_status lt_create(lt_api* a, void** handle) { return a->create(handle); }
static size_t lt_version(lt_api* a) { return a->version(); }

// lt_plan is one prepared product: descriptors and the chosen algorithm.
typedef struct {
	void *desc, *x, *y, *d;
	lt_algo algo;
	size_t ws;
} lt_plan;

// lt_prepare builds the descriptors of D[m,n] = op(X)·op(Y) (+ beta·D), X
// stored xr×xc (leading dimension ldx), Y stored yr×yc, D dr×dc, operands of
// type ab, D float32, and asks the heuristic for the best algorithm that
// fits ws bytes of workspace. It returns 0 or the failing status; *stage
// names the failing call.
static lt_status lt_prepare(lt_api* a, void* handle, lt_plan* p, int ab, int opx, int opy,
                            uint64_t xr, uint64_t xc, int64_t ldx, uint64_t yr, uint64_t yc, int64_t ldy,
                            uint64_t dr, uint64_t dc, int64_t ldd, uint64_t ws, int* stage) {
	lt_status s;
	memset(p, 0, sizeof *p);
	void* pref = NULL;
	int32_t ta = opx, tb = opy;
	*stage = 1;
	if ((s = a->desc_create(&p->desc, LT_COMPUTE_32F, LT_R_32F))) return s;
	*stage = 2;
	if ((s = a->desc_set(p->desc, LT_DESC_TRANSA, &ta, sizeof ta))) return s;
	if ((s = a->desc_set(p->desc, LT_DESC_TRANSB, &tb, sizeof tb))) return s;
	*stage = 3;
	if ((s = a->layout_create(&p->x, ab, xr, xc, ldx))) return s;
	if ((s = a->layout_create(&p->y, ab, yr, yc, ldy))) return s;
	if ((s = a->layout_create(&p->d, LT_R_32F, dr, dc, ldd))) return s;
	*stage = 4;
	if ((s = a->pref_create(&pref))) return s;
	if ((s = a->pref_set(pref, LT_PREF_MAX_WORKSPACE_BYTES, &ws, sizeof ws))) { a->pref_destroy(pref); return s; }
	*stage = 5;
	lt_heur h;
	int n = 0;
	s = a->heur(handle, p->desc, p->x, p->y, p->d, p->d, pref, 1, &h, &n);
	a->pref_destroy(pref);
	if (s) return s;
	*stage = 6;
	if (n < 1) return 15;  // CUBLAS_STATUS_NOT_SUPPORTED
	p->algo = h.algo;
	p->ws = h.workspaceSize;
	*stage = 0;
	return 0;
}

static void lt_release(lt_api* a, lt_plan* p) {
	if (p->x) a->layout_destroy(p->x);
	if (p->y) a->layout_destroy(p->y);
	if (p->d) a->layout_destroy(p->d);
	if (p->desc) a->desc_destroy(p->desc);
}

static lt_status lt_run(lt_api* a, void* handle, const lt_plan* p, float alpha, float beta, uint64_t x, uint64_t y, uint64_t d,
                        uint64_t ws, void* stream) {
	return a->matmul(handle, p->desc, &alpha, (const void*)x, p->x, (const void*)y, p->y, &beta, (const void*)d, p->d,
	                (void*)d, p->d, &p->algo, (void*)ws, p->ws, stream);
}

static void lt_destroy(lt_api* a, void* handle) {
	a->destroy(handle);
	dlclose(a->lib);
}
*/
import "C"

import (
	"errors"
	"fmt"
	"unsafe"
)

// cublasLt is an open cuBLASLt library with a handle and a workspace.
type cublasLt struct {
	api     *C.lt_api // C memory: the library's entry points
	handle  unsafe.Pointer
	path    string
	version int
	ws      devPtr // workspace
	wsBytes int
	plans   map[ltKey]*C.lt_plan
}

type ltKey struct {
	c ltCall
	t dataType
}

// ltWorkspace is the workspace offered to cuBLASLt (32 MiB, as NVIDIA
// recommends for Hopper).
const ltWorkspace = 32 << 20

// openCublasLt loads the first cuBLASLt library of the candidates that
// opens and has every entry point, and creates a handle.
func openCublasLt(candidates []string) (*cublasLt, error) {
	api := (*C.lt_api)(C.malloc(C.size_t(unsafe.Sizeof(C.lt_api{}))))
	var errs []error
	for _, path := range candidates {
		cs := C.CString(path)
		msg := C.lt_open(cs, api)
		C.free(unsafe.Pointer(cs))
		if msg != nil {
			errs = append(errs, fmt.Errorf("%s: %s", path, C.GoString(msg)))
			continue
		}
		lt := &cublasLt{api: api, path: path, version: int(C.lt_version(api)), plans: map[ltKey]*C.lt_plan{}}
		if s := C.lt_create(api, &lt.handle); s != 0 {
			errs = append(errs, fmt.Errorf("%s: cublasLtCreate: status %d", path, int(s)))
			continue
		}
		return lt, nil
	}
	C.free(unsafe.Pointer(api))
	return nil, errors.Join(errs...)
}

// matmul runs c on the library (stream: the legacy default stream).
func (lt *cublasLt) matmul(c ltCall, t dataType, x, y, d devPtr, alpha, beta float32) error {
	k := ltKey{c, t}
	p := lt.plans[k]
	if p == nil {
		p = (*C.lt_plan)(C.malloc(C.size_t(unsafe.Sizeof(C.lt_plan{}))))
		ab := C.int(C.LT_R_32F)
		if t == bf16 {
			ab = C.LT_R_16BF
		}
		var stage C.int
		s := C.lt_prepare(lt.api, lt.handle, p, ab, b2c(c.OpX), b2c(c.OpY), C.uint64_t(c.XRows), C.uint64_t(c.XCols),
			C.int64_t(c.LDX), C.uint64_t(c.YRows), C.uint64_t(c.YCols), C.int64_t(c.LDY), C.uint64_t(c.DRows),
			C.uint64_t(c.DCols), C.int64_t(c.LDD), C.uint64_t(lt.wsBytes), &stage)
		if s != 0 {
			C.lt_release(lt.api, p)
			C.free(unsafe.Pointer(p))
			stages := []string{"", "MatmulDescCreate", "MatmulDescSetAttribute", "MatrixLayoutCreate", "MatmulPreference",
				"MatmulAlgoGetHeuristic", "MatmulAlgoGetHeuristic (no algorithm)"}
			return fmt.Errorf("cublasLt%s: status %d", stages[int(stage)], int(s))
		}
		lt.plans[k] = p
	}
	if s := C.lt_run(lt.api, lt.handle, p, C.float(alpha), C.float(beta), C.uint64_t(x), C.uint64_t(y), C.uint64_t(d),
		C.uint64_t(lt.ws), nil); s != 0 {
		return fmt.Errorf("cublasLtMatmul: status %d", int(s))
	}
	return nil
}

func (lt *cublasLt) close() {
	for _, p := range lt.plans {
		C.lt_release(lt.api, p)
		C.free(unsafe.Pointer(p))
	}
	lt.plans = nil
	if lt.handle != nil {
		C.lt_destroy(lt.api, lt.handle)
		lt.handle = nil
	}
	C.free(unsafe.Pointer(lt.api))
	lt.api = nil
}

func b2c(b bool) C.int {
	if b {
		return 1
	}
	return 0
}
