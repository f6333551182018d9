import Testing
@testable import D2L

extension CoreTests {
    @Suite struct GEMMTests {
        /// C ← α·op(A)·op(B) + β·C computed naively in Double.
        func reference(transA: Bool, transB: Bool, m: Int, n: Int, k: Int, alpha: Float, a: [Float], lda: Int,
                       b: [Float], ldb: Int, beta: Float, c: [Float], ldc: Int) -> [Float] {
            var out = c
            for i in 0..<m { for j in 0..<n {
                var s = 0.0
                for p in 0..<k {
                    let av = transA ? a[p * lda + i] : a[i * lda + p]
                    let bv = transB ? b[j * ldb + p] : b[p * ldb + j]
                    s += Double(av) * Double(bv)
                }
                out[i * ldc + j] = Float(Double(alpha) * s + Double(beta) * Double(c[i * ldc + j]))
            }}
            return out
        }

        @Test(arguments: [false, true], [false, true])
        func everyTransposeAlphaBeta(transA: Bool, transB: Bool) {
            let m = 7, n = 5, k = 9
            for (alpha, beta) in [(Float(1), Float(0)), (1, 1), (0.5, -0.75), (-2, 0.25), (0, 1)] {
                // Leading dimensions larger than needed, to check they are honoured.
                let lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 2, ldc = n + 1
                let a = randomTensor([(transA ? k : m) * lda], seed: 1).data
                let b = randomTensor([(transB ? n : k) * ldb], seed: 2).data
                var c = randomTensor([m * ldc], seed: 3).data
                let expected = reference(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                                         b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
                a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in c.withUnsafeMutableBufferPointer { pc in
                    sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: pa.baseAddress!, lda: lda,
                          b: pb.baseAddress!, ldb: ldb, beta: beta, c: pc.baseAddress!, ldc: ldc)
                }}}
                #expect(maxAbsDiff(c, expected) < 1e-5, "transA \(transA) transB \(transB) alpha \(alpha) beta \(beta)")
            }
        }

        /// The split product equals one sgemm call, splitting rows (m > n) and columns (n > m),
        /// for every transpose/alpha/beta combination and with padded leading dimensions.
        @Test(arguments: [false, true], [false, true])
        func parallelSplitMatchesOneCall(transA: Bool, transB: Bool) {
            Parallel.configure(threads: 2)
            for (m, n, k) in [(300, 70, 120), (60, 290, 130)] {
                for (alpha, beta) in [(Float(1), Float(0)), (0.5, -0.75), (-2, 1)] {
                    let lda = (transA ? m : k) + 3, ldb = (transB ? k : n) + 2, ldc = n + 1
                    let a = randomTensor([(transA ? k : m) * lda], seed: 4).data
                    let b = randomTensor([(transB ? n : k) * ldb], seed: 5).data
                    let c0 = randomTensor([m * ldc], seed: 6).data
                    var serial = c0, split = c0
                    a.withUnsafeBufferPointer { pa in b.withUnsafeBufferPointer { pb in
                        serial.withUnsafeMutableBufferPointer { pc in
                            sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: pa.baseAddress!, lda: lda,
                                  b: pb.baseAddress!, ldb: ldb, beta: beta, c: pc.baseAddress!, ldc: ldc)
                        }
                        split.withUnsafeMutableBufferPointer { pc in
                            parallelSgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: pa.baseAddress!, lda: lda,
                                          b: pb.baseAddress!, ldb: ldb, beta: beta, c: pc.baseAddress!, ldc: ldc)
                        }
                    }}
                    #expect(maxAbsDiff(serial, split) < 1e-4, "m \(m) n \(n) transA \(transA) transB \(transB) alpha \(alpha) beta \(beta)")
                }
            }
        }

        /// Subnormal results are flushed to zero on the calling thread and in every worker
        /// (a training run that drifts into subnormals otherwise slows down several-fold).
        @Test func denormalsAreFlushedInEveryWorker() {
            Parallel.configure(threads: 2)
            defer { Parallel.configure(threads: 1) }
            let tiny = Float.leastNormalMagnitude
            var results = [Float](repeating: 1, count: 2)
            results.withUnsafeMutableBufferPointer { r in
                let out = UncheckedSendable(r.baseAddress!)
                Parallel.run(2) { w in
                    var x = tiny
                    withUnsafeMutablePointer(to: &x) { p in p.pointee = p.pointee * 0.25 }   // would be subnormal
                    out.value[w] = x
                }
            }
            #expect(results == [0, 0])
            var y = tiny
            withUnsafeMutablePointer(to: &y) { p in p.pointee = p.pointee * 0.25 }
            #expect(y == 0)
        }
    }
}
