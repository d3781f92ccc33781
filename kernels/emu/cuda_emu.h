// cuda_emu.h: a small CPU emulation of the CUDA programming model, enough to
// run the engine's kernels (kernels/*.cu compiled as C++ with MM_EMU defined)
// on a machine without a GPU, so the engine's tests can check every kernel
// against the CPU engine anywhere. It is a test tool, not a product path:
// correct, not fast.
//
// Model: the blocks of a grid run on a few OS threads, one block at a time
// per OS thread; the threads of a block run as coroutines (ucontext) on that
// OS thread (a small register switch, no system calls), switching only at __syncthreads and at warp-collective calls
// (__shfl_*_sync, __syncwarp), which is exactly where CUDA threads must
// agree. __shared__ variables are function-static and thread_local, so each
// OS thread (running one block) has its own shared memory. wmma fragments
// hold the whole tile and lane 0 of the warp does the warp's work (the layout
// is opaque in CUDA, so kernels that only load, mma and store cannot tell). A deadlock (threads of a block
// waiting at different barriers) is reported as an error, not hung.
#pragma once

#include <ucontext.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>
#include <thread>
#include <type_traits>
#include <utility>
#include <vector>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __shared__ static thread_local
#define __align__(n) __attribute__((aligned(n)))
#define __launch_bounds__(...)

struct uint3 {
  unsigned x, y, z;
};
struct dim3 {
  unsigned x, y, z;
};
struct __align__(16) float4 {
  float x, y, z, w;
};

inline thread_local uint3 threadIdx;
inline thread_local uint3 blockIdx;
inline thread_local dim3 blockDim;
inline thread_local dim3 gridDim;

inline float __uint_as_float(unsigned u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline unsigned __float_as_uint(float f) {
  unsigned u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline float __int_as_float(int u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}
inline int __float_as_int(float f) {
  int u;
  std::memcpy(&u, &f, 4);
  return u;
}
inline float rsqrtf(float x) { return 1.f / std::sqrt(x); }
inline float __expf(float x) { return std::exp(x); }
inline float __fdividef(float a, float b) { return a / b; }

namespace mmemu {

// ---- coroutines: a context switch that only saves the callee-saved
// registers on x86-64, ucontext elsewhere ----

#if defined(__x86_64__)
#define MMEMU_FAST_SWITCH 1
// mmemu_switch saves the callee-saved registers on the current stack, stores
// the stack pointer in *from and continues on the stack `to`.
extern "C" void mmemu_switch(void** from, void* to);
__asm__(
    ".text\n"
    ".globl mmemu_switch\n"
    ".type mmemu_switch,@function\n"
    "mmemu_switch:\n"
    "  pushq %rbp\n  pushq %rbx\n  pushq %r12\n  pushq %r13\n  pushq %r14\n  pushq %r15\n"
    "  subq $8, %rsp\n  stmxcsr (%rsp)\n  fnstcw 4(%rsp)\n"
    "  movq %rsp, (%rdi)\n"
    "  movq %rsi, %rsp\n"
    "  ldmxcsr (%rsp)\n  fldcw 4(%rsp)\n  addq $8, %rsp\n"
    "  popq %r15\n  popq %r14\n  popq %r13\n  popq %r12\n  popq %rbx\n  popq %rbp\n"
    "  ret\n"
    ".size mmemu_switch,.-mmemu_switch\n");
#endif

enum State { READY, AT_BAR, AT_WARP, DONE };

struct Thread {
#ifdef MMEMU_FAST_SWITCH
  void* sp;
#else
  ucontext_t ctx;
#endif
  State st;
  uint3 tid;
  int lane, warp;
  unsigned shuffles;  // warp-collective calls made, picks the exchange slot
};

// Block is the per-OS-thread state of the block being run.
struct Block {
  std::vector<Thread> th;
  char* stacks = nullptr;  // th.size() stacks of kStack bytes (malloc: pages are touched lazily)
  ~Block() { std::free(stacks); }
  std::vector<uint64_t> xch;  // [warps][2][32] shuffle exchange slots
#ifdef MMEMU_FAST_SWITCH
  void* sched;
#else
  ucontext_t sched;
#endif
  Thread* cur = nullptr;
  unsigned n = 0;  // threads in the block being run
  void (*entry)(const uint64_t*) = nullptr;
  const uint64_t* args = nullptr;
  std::string err;
};

inline thread_local Block* g_blk = nullptr;

constexpr size_t kStack = 256 * 1024;

// to_sched suspends the current thread and resumes the scheduler.
inline void to_sched(Block* b) {
#ifdef MMEMU_FAST_SWITCH
  mmemu_switch(&b->cur->sp, b->sched);
#else
  swapcontext(&b->cur->ctx, &b->sched);
#endif
}

// resume runs thread t until it waits or ends.
inline void resume(Block* b, Thread* t) {
#ifdef MMEMU_FAST_SWITCH
  mmemu_switch(&b->sched, t->sp);
#else
  swapcontext(&b->sched, &t->ctx);
#endif
}

inline void wait(State s) {
  Block* b = g_blk;
  b->cur->st = s;
  to_sched(b);
}

inline void thread_main() {
  Block* b = g_blk;
  b->entry(b->args);
  b->cur->st = DONE;
  to_sched(b);  // never resumed
  std::abort();
}

// start prepares thread t to run thread_main on its stack.
inline void start(Block* b, Thread* t, char* stack) {
#ifdef MMEMU_FAST_SWITCH
  uintptr_t top = ((uintptr_t)(stack + kStack)) & ~(uintptr_t)15;
  // what mmemu_switch pops: mxcsr/fpu control word, r15..rbp, then the
  // return address (thread_main, entered as if called: rsp ≡ 8 mod 16)
  uint64_t* sp = (uint64_t*)top;
  *--sp = 0;                          // thread_main's return address (never used)
  *--sp = (uint64_t)(void*)thread_main;
  for (int i = 0; i < 6; i++) *--sp = 0;
  uint32_t ctl[2];
  __asm__ volatile("stmxcsr %0" : "=m"(ctl[0]));
  __asm__ volatile("fnstcw %0" : "=m"(ctl[1]));
  --sp;
  std::memcpy(sp, ctl, 8);
  t->sp = sp;
#else
  getcontext(&t->ctx);
  t->ctx.uc_stack.ss_sp = stack;
  t->ctx.uc_stack.ss_size = kStack;
  t->ctx.uc_link = &b->sched;
  makecontext(&t->ctx, (void (*)())thread_main, 0);
#endif
  (void)b;
}

// run_block runs one block to completion; false on a kernel error.
inline bool run_block(Block& b, unsigned nthreads) {
  if (b.th.size() < nthreads) {
    b.th.resize(nthreads);
    std::free(b.stacks);
    b.stacks = (char*)std::malloc((size_t)nthreads * kStack);
    if (!b.stacks) {
      b.err = "out of memory for thread stacks";
      return false;
    }
  }
  b.n = nthreads;
  unsigned nwarps = (nthreads + 31) / 32;
  b.xch.assign((size_t)nwarps * 64, 0);
  for (unsigned i = 0; i < nthreads; i++) {
    Thread& t = b.th[i];
    t.st = READY;
    t.shuffles = 0;
    t.lane = i % 32;
    t.warp = i / 32;
    t.tid.x = i % blockDim.x;
    t.tid.y = (i / blockDim.x) % blockDim.y;
    t.tid.z = i / (blockDim.x * blockDim.y);
    start(&b, &t, b.stacks + (size_t)i * kStack);
  }
  unsigned done = 0;
  for (;;) {
    for (unsigned i = 0; i < nthreads; i++) {
      Thread& t = b.th[i];
      if (t.st != READY) continue;
      b.cur = &t;
      threadIdx = t.tid;
      resume(&b, &t);
      if (t.st == DONE) done++;
      if (!b.err.empty()) return false;
    }
    b.cur = nullptr;
    if (done == nthreads) return true;
    bool released = false;
    for (unsigned w = 0; w < nwarps; w++) {  // warp-collective calls first
      unsigned lo = w * 32, hi = std::min(nthreads, lo + 32), waiting = 0, live = 0;
      for (unsigned i = lo; i < hi; i++) {
        if (b.th[i].st != DONE) live++;
        if (b.th[i].st == AT_WARP) waiting++;
      }
      if (waiting > 0 && waiting == live) {
        for (unsigned i = lo; i < hi; i++)
          if (b.th[i].st == AT_WARP) b.th[i].st = READY;
        released = true;
      }
    }
    if (!released) {
      unsigned bar = 0;
      for (unsigned i = 0; i < nthreads; i++) bar += b.th[i].st == AT_BAR;
      if (bar > 0 && bar == nthreads - done) {
        for (unsigned i = 0; i < nthreads; i++)
          if (b.th[i].st == AT_BAR) b.th[i].st = READY;
        released = true;
      }
    }
    if (!released) {
      b.err = "deadlock: the threads of a block wait at different barriers";
      return false;
    }
  }
}

// BlockLease lends a Block (and its thread stacks) from a process-wide
// free list, so launches do not map fresh stacks every time.
struct BlockLease {
  Block* b;
  static std::mutex& mu() {
    static std::mutex m;
    return m;
  }
  static std::vector<Block*>& freelist() {
    static std::vector<Block*> f;
    return f;
  }
  BlockLease() {
    std::lock_guard<std::mutex> g(mu());
    if (freelist().empty()) {
      b = new Block;
    } else {
      b = freelist().back();
      freelist().pop_back();
    }
    b->err.clear();
    b->cur = nullptr;
  }
  ~BlockLease() {
    std::lock_guard<std::mutex> g(mu());
    freelist().push_back(b);
  }
};

// launch runs entry(args) over the grid on up to `workers` OS threads.
// It returns an empty string or the first kernel error.
inline std::string launch(void (*entry)(const uint64_t*), const uint64_t* args, dim3 grid, dim3 block,
                          unsigned workers) {
  unsigned nthreads = block.x * block.y * block.z;
  long long nblocks = (long long)grid.x * grid.y * grid.z;
  if (nthreads == 0 || nthreads > 1024 || nblocks <= 0) return "invalid launch shape";
  workers = (unsigned)std::max(1LL, std::min<long long>(workers, nblocks));
  std::atomic<long long> next{0};
  std::vector<std::string> errs(workers);
  auto work = [&](unsigned w) {
    BlockLease lease;
    Block& b = *lease.b;
    b.entry = entry;
    b.args = args;
    g_blk = &b;
    blockDim = block;
    gridDim = grid;
    for (;;) {
      long long i = next.fetch_add(1);
      if (i >= nblocks) break;
      blockIdx.x = (unsigned)(i % grid.x);
      blockIdx.y = (unsigned)((i / grid.x) % grid.y);
      blockIdx.z = (unsigned)(i / ((long long)grid.x * grid.y));
      if (!run_block(b, nthreads)) {
        char pos[96];
        std::snprintf(pos, sizeof pos, " (block %u,%u,%u)", blockIdx.x, blockIdx.y, blockIdx.z);
        errs[w] = b.err + pos;
        next.store(nblocks);
        break;
      }
    }
    g_blk = nullptr;
  };
  if (workers == 1) {
    work(0);
  } else {
    std::vector<std::thread> ts;
    for (unsigned w = 0; w < workers; w++) ts.emplace_back(work, w);
    for (auto& t : ts) t.join();
  }
  for (auto& e : errs)
    if (!e.empty()) return e;
  return "";
}

// shuffle publishes v for the lane's warp, waits for the whole warp, and
// returns the value published by lane src (its own when src is not a lane).
template <class T>
inline T shuffle(T v, int src) {
  static_assert(sizeof(T) <= 8, "shuffle of a value wider than 8 bytes");
  Block* b = g_blk;
  if (!b || !b->cur) std::abort();
  Thread* t = b->cur;
  uint64_t* x = &b->xch[((size_t)t->warp * 2 + (t->shuffles++ & 1)) * 32];
  uint64_t bits = 0;
  std::memcpy(&bits, &v, sizeof(T));
  x[t->lane] = bits;
  wait(AT_WARP);
  // A lane that does not exist reads its own value (CUDA leaves it undefined;
  // the kernels never rely on it). Lanes that have already moved on or exited
  // since the exchange leave their slot intact until the next-but-one call.
  if (src < 0 || src >= 32 || (unsigned)(t->warp * 32 + src) >= b->n) src = t->lane;
  T r;
  std::memcpy(&r, &x[src], sizeof(T));
  return r;
}

}  // namespace mmemu

inline void __syncthreads() {
  if (!mmemu::g_blk || !mmemu::g_blk->cur) std::abort();
  mmemu::wait(mmemu::AT_BAR);
}
inline void __syncwarp(unsigned = 0xffffffffu) { mmemu::shuffle<int>(0, 0); }
template <class T>
inline T __shfl_xor_sync(unsigned, T v, int mask, int = 32) {
  return mmemu::shuffle(v, (int)(mmemu::g_blk->cur->lane ^ mask));
}
template <class T>
inline T __shfl_sync(unsigned, T v, int src, int = 32) {
  return mmemu::shuffle(v, src);
}
template <class T>
inline T __shfl_down_sync(unsigned, T v, unsigned delta, int = 32) {
  return mmemu::shuffle(v, (int)(mmemu::g_blk->cur->lane + delta));
}

// ---- bfloat16 and wmma ----

struct __nv_bfloat16 {
  unsigned short x;
};
inline __nv_bfloat16 __ushort_as_bfloat16(unsigned short v) {
  __nv_bfloat16 r;
  r.x = v;
  return r;
}
inline unsigned short __bfloat16_as_ushort(__nv_bfloat16 h) { return h.x; }

namespace nvcuda {
namespace wmma {
struct matrix_a {};
struct matrix_b {};
struct accumulator {};
struct row_major {};
struct col_major {};
enum layout_t { mem_row_major, mem_col_major };

template <class Use, int M, int N, int K, class T, class Layout = void>
struct fragment {
  static constexpr int R = std::is_same<Use, matrix_b>::value ? K : M;
  static constexpr int C = std::is_same<Use, matrix_a>::value ? K : N;
  float v[R * C];  // the whole tile, row-major, in every lane
};

inline float elem(const __nv_bfloat16& h) { return __uint_as_float(((unsigned)h.x) << 16); }
inline float elem(const float& f) { return f; }

// Fragments are warp-collective and opaque: lane 0 of each warp does the
// work for the warp (the other lanes' fragments are never looked at), which
// keeps the emulation from multiplying every tile 32 times.
inline bool leader() { return mmemu::g_blk && mmemu::g_blk->cur && mmemu::g_blk->cur->lane == 0; }

template <class Use, int M, int N, int K, class T, class L>
inline void load_matrix_sync(fragment<Use, M, N, K, T, L>& f, const T* p, unsigned ldm) {
  if (!leader()) return;
  typedef fragment<Use, M, N, K, T, L> F;
  for (int r = 0; r < F::R; r++)
    for (int c = 0; c < F::C; c++)
      f.v[r * F::C + c] = elem(std::is_same<L, col_major>::value ? p[(size_t)c * ldm + r] : p[(size_t)r * ldm + c]);
}

template <int M, int N, int K>
inline void load_matrix_sync(fragment<accumulator, M, N, K, float>& f, const float* p, unsigned ldm, layout_t l) {
  if (!leader()) return;
  for (int r = 0; r < M; r++)
    for (int c = 0; c < N; c++) f.v[r * N + c] = l == mem_col_major ? p[(size_t)c * ldm + r] : p[(size_t)r * ldm + c];
}

template <class Use, int M, int N, int K, class T, class L>
inline void fill_fragment(fragment<Use, M, N, K, T, L>& f, float x) {
  for (auto& e : f.v) e = x;
}

template <int M, int N, int K, class TA, class LA, class TB, class LB>
inline void mma_sync(fragment<accumulator, M, N, K, float>& d, const fragment<matrix_a, M, N, K, TA, LA>& a,
                     const fragment<matrix_b, M, N, K, TB, LB>& b, const fragment<accumulator, M, N, K, float>& c) {
  if (!leader()) return;
  float out[M * N];
  for (int i = 0; i < M; i++)
    for (int j = 0; j < N; j++) {
      float s = c.v[i * N + j];
      for (int k = 0; k < K; k++) s += a.v[i * K + k] * b.v[k * N + j];
      out[i * N + j] = s;
    }
  std::memcpy(d.v, out, sizeof out);
}

template <int M, int N, int K>
inline void store_matrix_sync(float* p, const fragment<accumulator, M, N, K, float>& f, unsigned ldm, layout_t l) {
  if (!leader()) return;
  for (int r = 0; r < M; r++)
    for (int c = 0; c < N; c++) {
      float x = f.v[r * N + c];
      if (l == mem_col_major)
        p[(size_t)c * ldm + r] = x;
      else
        p[(size_t)r * ldm + c] = x;
    }
}
}  // namespace wmma
}  // namespace nvcuda

// ---- the kernel registry ----

namespace mmemu {

template <class T>
inline T arg(const uint64_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));  // little-endian: the low bytes of the 8-byte slot
  return v;
}

template <class F>
struct Tramp;
template <class... A>
struct Tramp<void (*)(A...)> {
  template <void (*F)(A...), size_t... I>
  static void call(const uint64_t* args, std::index_sequence<I...>) {
    F(arg<A>(args + I)...);
  }
  template <void (*F)(A...)>
  static void run(const uint64_t* args) {
    call<F>(args, std::index_sequence_for<A...>{});
  }
  static constexpr int nargs = sizeof...(A);
};

// Entry names one kernel and the trampoline that unpacks its 8-byte argument slots.
struct Entry {
  const char* name;
  void (*run)(const uint64_t*);
  int nargs;
};

}  // namespace mmemu

#define MMEMU_ENTRY(f) \
  { #f, &mmemu::Tramp<decltype(&f)>::template run<&f>, mmemu::Tramp<decltype(&f)>::nargs }
