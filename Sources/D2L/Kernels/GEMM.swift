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

/// What OpenBLAS reports about itself (for the start-up banner and the benchmark).
public enum BLASInfo {
    public static var coreName: String { String(cString: openblas_get_corename()) }
    public static var config: String { String(cString: openblas_get_config()) }
    public static var threads: Int { Int(openblas_get_num_threads()) }
    /// Sets OpenBLAS's own thread count (1 when our kernels parallelise over the batch).
    public static func setThreads(_ n: Int) { openblas_set_num_threads(Int32(n)) }
}
