// emu.h: the C interface of the CUDA emulation (emu_kernels.cpp) for cgo.
#ifndef MM_EMU_H
#define MM_EMU_H
#include <stdint.h>
#ifdef __cplusplus
extern "C" {
#endif
// mmemu_find returns the index of kernel name (and its argument count), or -1.
int mmemu_find(const char* name, int* nargs);
// mmemu_launch runs kernel over the grid; 0, or -1 with a message in err.
int mmemu_launch(int kernel, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                 const uint64_t* args, unsigned workers, char* err, int errlen);
#ifdef __cplusplus
}
#endif
#endif
