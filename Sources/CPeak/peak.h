// The machine's floating-point peak: fused multiply-adds on 8-float vectors (AVX2 + FMA) and,
// where the CPU has them, on 16-float vectors (AVX-512F), as many independent chains as keep a
// core's FMA pipes busy. `Benchmarks` reports both next to OpenBLAS's sgemm rate, so a model's
// GFLOP/s can be read against the hardware's ceiling as well as the GEMM's. (Some CPUs run a
// 16-lane FMA as two 8-lane halves, Zen 4 among them; there the two peaks are alike.)
// Header-only; each kernel is compiled for its instruction set whatever the rest of the build
// targets, and only called when the CPU says it has it.
#include <stdint.h>

/// Multiply-add chains per call of `d2l_fma_chains` and `d2l_fma512_chains`: each iteration
/// does this many FMAs, that is 16 (8 lanes) or 32 (16 lanes) × this many floating-point
/// operations.
enum { d2l_fma_chain_count = 12 };

#if defined(__x86_64__)
#include <cpuid.h>
#include <immintrin.h>

/// Whether this CPU and OS run AVX2 and FMA instructions (CPUID, and XGETBV for the OS
/// saving the 256-bit registers).
static inline int d2l_has_avx2_fma(void) {
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d)) return 0;
    if (!((c >> 12) & 1) || !((c >> 27) & 1) || !((c >> 28) & 1)) return 0;   // FMA, OSXSAVE, AVX
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    if ((lo & 6) != 6) return 0;                                              // XMM and YMM state
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d)) return 0;
    return (b >> 5) & 1;                                                      // AVX2
}

/// Defines `name(iterations, start, multiplier, addend)`: `iterations` rounds of 12 independent
/// FMAs on `lanes`-float vectors (a ← a·m + c, every chain starting from `start` + i/64),
/// compiled for `isa`; returns a value that depends on all of them. The caller passes the
/// numbers at run time, so the compiler cannot fold the chains (with constants it found their
/// fixed point and dropped the loop). One definition for both widths, so that they measure
/// exactly the same loop.
#define D2L_FMA_CHAINS(name, isa, vec, lanes, set1, add, fmadd, storeu)                          \
__attribute__((target(isa))) __attribute__((noinline))                                          \
static float name(long iterations, float start, float multiplier, float addend) {              \
    vec m = set1(multiplier), c = set1(addend);                                                 \
    /* Chains that start apart, so a compiler cannot merge identical ones (gcc did). */         \
    vec a0 = set1(start), step = set1(1.0f / 64);                                               \
    vec a1 = add(a0, step), a2 = add(a1, step), a3 = add(a2, step), a4 = add(a3, step);         \
    vec a5 = add(a4, step), a6 = add(a5, step), a7 = add(a6, step), a8 = add(a7, step);         \
    vec a9 = add(a8, step), a10 = add(a9, step), a11 = add(a10, step);                          \
    for (long i = 0; i < iterations; i++) {                                                     \
        a0 = fmadd(a0, m, c); a1 = fmadd(a1, m, c); a2 = fmadd(a2, m, c); a3 = fmadd(a3, m, c);  \
        a4 = fmadd(a4, m, c); a5 = fmadd(a5, m, c); a6 = fmadd(a6, m, c); a7 = fmadd(a7, m, c);  \
        a8 = fmadd(a8, m, c); a9 = fmadd(a9, m, c); a10 = fmadd(a10, m, c); a11 = fmadd(a11, m, c); \
    }                                                                                           \
    vec s = add(add(add(a0, a1), add(a2, a3)), add(add(a4, a5), add(a6, a7)));                  \
    s = add(s, add(add(a8, a9), add(a10, a11)));                                                \
    float out[lanes];                                                                           \
    storeu(out, s);                                                                             \
    return out[0] + out[lanes - 1];                                                             \
}

/// 12 chains of 8-lane AVX2 FMAs per round: 16 × 12 floating-point operations.
D2L_FMA_CHAINS(d2l_fma_chains, "avx2,fma", __m256, 8, _mm256_set1_ps, _mm256_add_ps, _mm256_fmadd_ps, _mm256_storeu_ps)

/// Whether this CPU and OS run AVX-512F instructions (CPUID leaf 7, and XGETBV for the OS
/// saving the opmask and 512-bit register state).
static inline int d2l_has_avx512f(void) {
    if (!d2l_has_avx2_fma()) return 0;
    unsigned a, b, c, d;
    if (!__get_cpuid_count(7, 0, &a, &b, &c, &d) || !((b >> 16) & 1)) return 0;   // AVX512F
    unsigned lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    return (lo & 0xe6) == 0xe6;                                                   // XMM, YMM, opmask, ZMM
}

/// The same chains on 16-lane AVX-512 vectors: 32 × 12 floating-point operations per round.
D2L_FMA_CHAINS(d2l_fma512_chains, "avx512f", __m512, 16, _mm512_set1_ps, _mm512_add_ps, _mm512_fmadd_ps, _mm512_storeu_ps)
#else
static inline int d2l_has_avx2_fma(void) { return 0; }
static inline int d2l_has_avx512f(void) { return 0; }
static inline float d2l_fma512_chains(long iterations, float start, float multiplier, float addend) {
    (void)iterations; (void)start; (void)multiplier; (void)addend; return 0;
}
static inline float d2l_fma_chains(long iterations, float start, float multiplier, float addend) {
    (void)iterations; (void)start; (void)multiplier; (void)addend; return 0;
}
#endif
