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

/// `iterations` rounds of 12 independent 8-lane FMAs (a ← a·m + c, every chain starting from
/// `start` + i/64); returns a value that depends on all of them. The caller passes the numbers at
/// run time, so the compiler cannot fold the chains (with constants it found their fixed
/// point and dropped the loop).
__attribute__((target("avx2,fma"))) __attribute__((noinline))
static float d2l_fma_chains(long iterations, float start, float multiplier, float addend) {
    __m256 m = _mm256_set1_ps(multiplier), c = _mm256_set1_ps(addend);
    // Chains that start apart, so a compiler cannot merge identical ones (gcc did).
    __m256 a0 = _mm256_set1_ps(start), step = _mm256_set1_ps(1.0f / 64);
    __m256 a1 = _mm256_add_ps(a0, step), a2 = _mm256_add_ps(a1, step), a3 = _mm256_add_ps(a2, step);
    __m256 a4 = _mm256_add_ps(a3, step), a5 = _mm256_add_ps(a4, step), a6 = _mm256_add_ps(a5, step);
    __m256 a7 = _mm256_add_ps(a6, step), a8 = _mm256_add_ps(a7, step), a9 = _mm256_add_ps(a8, step);
    __m256 a10 = _mm256_add_ps(a9, step), a11 = _mm256_add_ps(a10, step);
    for (long i = 0; i < iterations; i++) {
        a0 = _mm256_fmadd_ps(a0, m, c); a1 = _mm256_fmadd_ps(a1, m, c); a2 = _mm256_fmadd_ps(a2, m, c);
        a3 = _mm256_fmadd_ps(a3, m, c); a4 = _mm256_fmadd_ps(a4, m, c); a5 = _mm256_fmadd_ps(a5, m, c);
        a6 = _mm256_fmadd_ps(a6, m, c); a7 = _mm256_fmadd_ps(a7, m, c); a8 = _mm256_fmadd_ps(a8, m, c);
        a9 = _mm256_fmadd_ps(a9, m, c); a10 = _mm256_fmadd_ps(a10, m, c); a11 = _mm256_fmadd_ps(a11, m, c);
    }
    __m256 s = _mm256_add_ps(_mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)),
                             _mm256_add_ps(_mm256_add_ps(a4, a5), _mm256_add_ps(a6, a7)));
    s = _mm256_add_ps(s, _mm256_add_ps(_mm256_add_ps(a8, a9), _mm256_add_ps(a10, a11)));
    float lanes[8];
    _mm256_storeu_ps(lanes, s);
    return lanes[0] + lanes[7];
}

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

/// The same chains as `d2l_fma_chains` on 16-lane vectors: 12 independent AVX-512 FMAs per
/// iteration, 32 floating-point operations each.
__attribute__((target("avx512f"))) __attribute__((noinline))
static float d2l_fma512_chains(long iterations, float start, float multiplier, float addend) {
    __m512 m = _mm512_set1_ps(multiplier), c = _mm512_set1_ps(addend);
    __m512 a0 = _mm512_set1_ps(start), step = _mm512_set1_ps(1.0f / 64);
    __m512 a1 = _mm512_add_ps(a0, step), a2 = _mm512_add_ps(a1, step), a3 = _mm512_add_ps(a2, step);
    __m512 a4 = _mm512_add_ps(a3, step), a5 = _mm512_add_ps(a4, step), a6 = _mm512_add_ps(a5, step);
    __m512 a7 = _mm512_add_ps(a6, step), a8 = _mm512_add_ps(a7, step), a9 = _mm512_add_ps(a8, step);
    __m512 a10 = _mm512_add_ps(a9, step), a11 = _mm512_add_ps(a10, step);
    for (long i = 0; i < iterations; i++) {
        a0 = _mm512_fmadd_ps(a0, m, c); a1 = _mm512_fmadd_ps(a1, m, c); a2 = _mm512_fmadd_ps(a2, m, c);
        a3 = _mm512_fmadd_ps(a3, m, c); a4 = _mm512_fmadd_ps(a4, m, c); a5 = _mm512_fmadd_ps(a5, m, c);
        a6 = _mm512_fmadd_ps(a6, m, c); a7 = _mm512_fmadd_ps(a7, m, c); a8 = _mm512_fmadd_ps(a8, m, c);
        a9 = _mm512_fmadd_ps(a9, m, c); a10 = _mm512_fmadd_ps(a10, m, c); a11 = _mm512_fmadd_ps(a11, m, c);
    }
    __m512 s = _mm512_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)),
                             _mm512_add_ps(_mm512_add_ps(a4, a5), _mm512_add_ps(a6, a7)));
    s = _mm512_add_ps(s, _mm512_add_ps(_mm512_add_ps(a8, a9), _mm512_add_ps(a10, a11)));
    float lanes[16];
    _mm512_storeu_ps(lanes, s);
    return lanes[0] + lanes[15];
}
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
