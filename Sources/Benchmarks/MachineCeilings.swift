import CPeak
import D2L

/// The two ceilings a model's speed is read against, measured in the same run as the models:
/// OpenBLAS's sgemm rate (what the convolutions' GEMMs can reach at best) and the cores'
/// floating-point peak (what any code could reach: independent 8-lane fused multiply-adds).
extension Benchmarks {
    /// GFLOP/s of 1024³ sgemm: one product per worker thread at once, as the kernels run.
    func measureSgemm() -> Double {
        let n = 1024, workers = Parallel.threads, reps = 4
        let a = [Float](repeating: 0.5, count: n * n), b = [Float](repeating: 0.25, count: n * n)
        let cs = Workspace.buffersForBenchmark(workers: workers, count: n * n)
        func run() {
            a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in
                Parallel.run(workers) { w in
                    for _ in 0..<reps {
                        sgemm(m: n, n: n, k: n, a: pa.baseAddress!, lda: n, b: pb.baseAddress!, ldb: n, c: cs[w], ldc: n)
                    }
                }
            }}
        }
        run()
        let t = ContinuousClock.now
        run()
        return 2 * Double(n * n * n) * Double(reps * workers) / (ContinuousClock.now - t).seconds / 1e9
    }

    /// The cores' fused multiply-add peak at each vector width the CPU has.
    struct FMAPeak {
        /// GFLOP/s of 8-lane AVX2 FMAs.
        var avx2: Double
        /// GFLOP/s of 16-lane AVX-512 FMAs, nil on CPUs without AVX-512F.
        var avx512: Double?
        /// The higher of the two: what any code could reach on this CPU.
        var higher: Double { Swift.max(avx2, avx512 ?? 0) }
    }

    /// GFLOP/s of independent fused multiply-adds, one chain set per worker thread at once
    /// (`d2l_fma_chains` / `d2l_fma512_chains`: 12 chains per round), at 8 lanes and, where
    /// the CPU has AVX-512F, at 16; nil on CPUs without AVX2 and FMA.
    func measureFMAPeak() -> FMAPeak? {
        guard d2l_has_avx2_fma() != 0 else { return nil }
        let avx2 = fmaRate(lanes: 8) { d2l_fma_chains($0, $1, $2, $3) }
        let avx512 = d2l_has_avx512f() != 0 ? fmaRate(lanes: 16) { d2l_fma512_chains($0, $1, $2, $3) } : nil
        return FMAPeak(avx2: avx2, avx512: avx512)
    }

    /// GFLOP/s of one chain kernel run by every worker at once: 12 chains × `lanes` FMAs
    /// (2 floating-point operations each) per round.
    private func fmaRate(lanes: Int, _ chains: @escaping @Sendable (Int, Float, Float, Float) -> Float) -> Double {
        let workers = Parallel.threads, rounds = 100_000_000
        // a ← 0.999999·a + 1e-6 from a = 0.5 stays finite and normal (it tends to 1).
        let (start, multiplier, addend) = (Float(0.5), Float(0.999_999), Float(1e-6))
        var sink = [Float](repeating: 0, count: workers)
        func run() {
            sink.withUnsafeMutableBufferPointer { out in
                Parallel.run(workers) { w in out[w] += chains(rounds, start, multiplier, addend) }
            }
        }
        _ = chains(rounds / 100, start, multiplier, addend)   // warm-up: clocks up, code in cache
        let t = ContinuousClock.now
        run()
        let seconds = (ContinuousClock.now - t).seconds
        precondition(!sink.contains { $0.isNaN }, "FMA probe: NaN")
        return 2 * Double(lanes) * Double(d2l_fma_chain_count) * Double(rounds * workers) / seconds / 1e9
    }
}
