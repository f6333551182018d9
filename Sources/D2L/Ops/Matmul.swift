/// Matrix product of 2-D tensors with gradients.
extension Tensor {
    /// (m, k) · (k, n) → (m, n). Backward: ∂A = ∂Y·Bᵀ, ∂B = Aᵀ·∂Y.
    public func matmul(_ other: Tensor) -> Tensor {
        precondition(rank == 2 && other.rank == 2 && shape[1] == other.shape[0],
                     "matmul: \(shape.shapeDescription) · \(other.shape.shapeDescription) do not fit")
        let m = shape[0], k = shape[1], n = other.shape[1]
        var out = [Float](repeating: 0, count: m * n)
        data.withUnsafeBufferPointer { pa in other.data.withUnsafeBufferPointer { pb in
        out.withUnsafeMutableBufferPointer { pc in
            sgemm(m: m, n: n, k: k, a: pa.baseAddress!, lda: k, b: pb.baseAddress!, ldb: n,
                  c: pc.baseAddress!, ldc: n)
        }}}
        let (da, db) = (gradTarget, other.gradTarget)
        return Tensor.result(shape: [m, n], data: out, inputs: [self, other], saving: [db != nil ? keptForBackward : .stored([]), da != nil ? other.keptForBackward : .stored([])]) { node in
            node.grad!.withUnsafeBufferPointer { g in
                if let da {
                    node.savedValues(1).withUnsafeBufferPointer { pb in da.withGradBuffer { ga in
                        sgemm(transB: true, m: m, n: k, k: n, a: g.baseAddress!, lda: n,
                              b: pb.baseAddress!, ldb: n, beta: 1, c: ga.baseAddress!, ldc: k)
                    }}
                }
                if let db {
                    node.savedValues(0).withUnsafeBufferPointer { pa in db.withGradBuffer { gb in
                        sgemm(transA: true, m: k, n: n, k: m, a: pa.baseAddress!, lda: k,
                              b: g.baseAddress!, ldb: n, beta: 1, c: gb.baseAddress!, ldc: n)
                    }}
                }
            }
        }
    }
}
