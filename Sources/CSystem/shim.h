// Small pieces of the C library that Swift's Glibc module does not expose conveniently.
#include <malloc.h>   // mallopt: keep freed memory in the process (see Parallel.swift)
#include <stdio.h>

/// Line-buffer standard output, so progress written to a file or pipe appears line by line
/// (Swift 6 cannot touch the `stdout` global directly).
static inline void d2l_line_buffer_stdout(void) { setvbuf(stdout, NULL, _IOLBF, 0); }

/// Flush denormal (subnormal) floats to zero on this thread: results below 2^-126 become 0
/// instead of taking the CPU's slow microcode path (x86: MXCSR FTZ|DAZ; ARM: FPCR.FZ).
/// PyTorch offers the same switch as `torch.set_flush_denormal(True)`.
#if defined(__x86_64__)
#include <xmmintrin.h>
static inline void d2l_flush_denormals(void) { _mm_setcsr(_mm_getcsr() | 0x8040); }
#elif defined(__aarch64__)
#include <stdint.h>
static inline void d2l_flush_denormals(void) {
    uint64_t fpcr;
    __asm__ volatile("mrs %0, fpcr" : "=r"(fpcr));
    __asm__ volatile("msr fpcr, %0" : : "r"(fpcr | (1ull << 24)));
}
#else
static inline void d2l_flush_denormals(void) {}
#endif

/// A hint to the CPU that this thread is spinning on a flag (x86 PAUSE, ARM YIELD): it saves
/// power and lets the core's other hardware thread run. `WorkerPool`'s waits use it.
static inline void d2l_cpu_relax(void) {
#if defined(__x86_64__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}
