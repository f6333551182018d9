import CBLAS

/// C ← α·op(A)·op(B) + β·C, row-major, through OpenBLAS's `cblas_sgemm`.
///
/// op(A) is m×k, op(B) is k×n, C is m×n. `lda`, `ldb`, `ldc` are the row strides of A, B
/// and C as stored (so for `transA` A is stored k×m and `lda ≥ m`).
@inline(__always)
public func sgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                  alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                  b: UnsafePointer<Float>, ldb: Int,
                  beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
    cblas_sgemm(CblasRowMajor, transA ? CblasTrans : CblasNoTrans, transB ? CblasTrans : CblasNoTrans,
                blasint(m), blasint(n), blasint(k), alpha, a, blasint(lda), b, blasint(ldb),
                beta, c, blasint(ldc))
}

/// The same product split over the workers: C's rows (or its columns, whichever are more)
/// are cut into one block per worker and each worker multiplies its block with a
/// single-threaded sgemm. For products our kernels do not already parallelise over the batch
/// (fully connected layers). Small products (under ~4 MFLOP) run as one call.
public func parallelSgemm(transA: Bool = false, transB: Bool = false, m: Int, n: Int, k: Int,
                          alpha: Float = 1, a: UnsafePointer<Float>, lda: Int,
                          b: UnsafePointer<Float>, ldb: Int,
                          beta: Float = 0, c: UnsafeMutablePointer<Float>, ldc: Int) {
    let workers = Swift.min(Parallel.threads, Swift.max(m, n) / 16)
    guard workers > 1, 2 * m * n * k >= 4_000_000 else {
        return sgemm(transA: transA, transB: transB, m: m, n: n, k: k, alpha: alpha, a: a, lda: lda,
                     b: b, ldb: ldb, beta: beta, c: c, ldc: ldc)
    }
    let blocks = Parallel.ranges(Swift.max(m, n), parts: workers)
    let pointers = UncheckedSendable((a, b, c))
    Parallel.run(blocks.count) { w in
        let r = blocks[w], (a, b, c) = pointers.value
        if m >= n {
            // Rows i of op(A) and C: A stored m×k (row i at i·lda) or k×m (column i at i).
            sgemm(transA: transA, transB: transB, m: r.count, n: n, k: k, alpha: alpha,
                  a: a + (transA ? r.lowerBound : r.lowerBound * lda), lda: lda, b: b, ldb: ldb,
                  beta: beta, c: c + r.lowerBound * ldc, ldc: ldc)
        } else {
            // Columns j of op(B) and C: B stored k×n (column j at j) or n×k (row j at j·ldb).
            sgemm(transA: transA, transB: transB, m: m, n: r.count, k: k, alpha: alpha, a: a, lda: lda,
                  b: b + (transB ? r.lowerBound * ldb : r.lowerBound), ldb: ldb,
                  beta: beta, c: c + r.lowerBound, ldc: ldc)
        }
    }
}

/// What OpenBLAS reports about itself (for the start-up banner and the benchmark).
public enum BLASInfo {
    public static var coreName: String { String(cString: openblas_get_corename()) }
    public static var config: String { String(cString: openblas_get_config()) }
    public static var threads: Int { Int(openblas_get_num_threads()) }
    /// Sets OpenBLAS's own thread count (1 when our kernels parallelise over the batch).
    public static func setThreads(_ n: Int) { openblas_set_num_threads(Int32(n)) }
}
