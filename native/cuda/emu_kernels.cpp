//go:build cudaemu && !cuda

// emu_kernels.cpp: the engine's kernels compiled for the CPU emulation of
// CUDA (kernels/emu/cuda_emu.h), and the C entry points the cudaemu backend
// calls. The kernel sources are the same files nvcc compiles to PTX.
#define MM_EMU 1
#include "../../kernels/attention.cu"
#include "../../kernels/attention_tc.cu"
#include "../../kernels/elementwise.cu"
#include "../../kernels/gemm.cu"
#include "../../kernels/norm.cu"
#include "../../kernels/rope.cu"
#include "../../kernels/rows.cu"
#include "../../kernels/softmax.cu"

#include "emu.h"
#include "emu_sources.h"  // changes with the kernel sources: rebuilds this file

static const mmemu::Entry kEntries[] = {
    MMEMU_ENTRY(mm_adamw),
    MMEMU_ENTRY(mm_add),
    MMEMU_ENTRY(mm_attn_bwd_dkdv_16),
    MMEMU_ENTRY(mm_attn_bwd_dkdv_32),
    MMEMU_ENTRY(mm_attn_bwd_dkdv_64),
    MMEMU_ENTRY(mm_attn_bwd_dkdv_80),
    MMEMU_ENTRY(mm_attn_bwd_dkdv_96),
    MMEMU_ENTRY(mm_attn_bwd_dkdv_128),
    MMEMU_ENTRY(mm_attn_bwd_dq_16),
    MMEMU_ENTRY(mm_attn_bwd_dq_32),
    MMEMU_ENTRY(mm_attn_bwd_dq_64),
    MMEMU_ENTRY(mm_attn_bwd_dq_80),
    MMEMU_ENTRY(mm_attn_bwd_dq_96),
    MMEMU_ENTRY(mm_attn_bwd_dq_128),
    MMEMU_ENTRY(mm_attn_bwd_pre),
    MMEMU_ENTRY(mm_attn_fwd_16),
    MMEMU_ENTRY(mm_attn_fwd_32),
    MMEMU_ENTRY(mm_attn_fwd_64),
    MMEMU_ENTRY(mm_attn_fwd_80),
    MMEMU_ENTRY(mm_attn_fwd_96),
    MMEMU_ENTRY(mm_attn_fwd_128),
    MMEMU_ENTRY(mm_attn_probs),
    MMEMU_ENTRY(mm_attn_tc_fwd_16),
    MMEMU_ENTRY(mm_attn_tc_dq_16),
    MMEMU_ENTRY(mm_attn_tc_dkdv_16),
    MMEMU_ENTRY(mm_attn_tc_fwd_32),
    MMEMU_ENTRY(mm_attn_tc_dq_32),
    MMEMU_ENTRY(mm_attn_tc_dkdv_32),
    MMEMU_ENTRY(mm_attn_tc_fwd_64),
    MMEMU_ENTRY(mm_attn_tc_dq_64),
    MMEMU_ENTRY(mm_attn_tc_dkdv_64),
    MMEMU_ENTRY(mm_attn_tc_fwd_80),
    MMEMU_ENTRY(mm_attn_tc_dq_80),
    MMEMU_ENTRY(mm_attn_tc_dkdv_80),
    MMEMU_ENTRY(mm_attn_tc_fwd_96),
    MMEMU_ENTRY(mm_attn_tc_dq_96),
    MMEMU_ENTRY(mm_attn_tc_dkdv_96),
    MMEMU_ENTRY(mm_attn_tc_fwd_128),
    MMEMU_ENTRY(mm_attn_tc_dq_128),
    MMEMU_ENTRY(mm_attn_tc_dkdv_128),
    MMEMU_ENTRY(mm_cast_bf16),
    MMEMU_ENTRY(mm_cast_f32),
    MMEMU_ENTRY(mm_colsum_acc),
    MMEMU_ENTRY(mm_gather),
    MMEMU_ENTRY(mm_gemm_bf16),
    MMEMU_ENTRY(mm_gemm_f32),
    MMEMU_ENTRY(mm_rmsnorm),
    MMEMU_ENTRY(mm_rmsnorm_bwd),
    MMEMU_ENTRY(mm_rope),
    MMEMU_ENTRY(mm_rowdot),
    MMEMU_ENTRY(mm_scale),
    MMEMU_ENTRY(mm_scatter_seg),
    MMEMU_ENTRY(mm_softmax),
    MMEMU_ENTRY(mm_softmax_bwd),
    MMEMU_ENTRY(mm_sumsq),
    MMEMU_ENTRY(mm_swiglu),
    MMEMU_ENTRY(mm_swiglu_bwd),
    MMEMU_ENTRY(mm_xent),
};

extern "C" int mmemu_find(const char* name, int* nargs) {
  for (int i = 0; i < (int)(sizeof kEntries / sizeof kEntries[0]); i++)
    if (std::strcmp(kEntries[i].name, name) == 0) {
      *nargs = kEntries[i].nargs;
      return i;
    }
  return -1;
}

extern "C" int mmemu_launch(int kernel, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                            const uint64_t* args, unsigned workers, char* err, int errlen) {
  std::string e = mmemu::launch(kEntries[kernel].run, args, dim3{gx, gy, gz}, dim3{bx, by, bz}, workers);
  if (e.empty()) return 0;
  std::snprintf(err, errlen, "%s", e.c_str());
  return -1;
}
