/// Sums and means over chosen axes, with or without keeping the reduced axes as size 1.
extension Tensor {
    /// Σ over `axes` (negative axes count from the end), accumulated in Double. With `keepDim`
    /// the result keeps rank with extent 1 on reduced axes, so it broadcasts back against `self`.
    /// Backward: every input element receives the gradient of the sum it fed.
    public func sum(axes: [Int], keepDim: Bool = false) -> Tensor {
        let reduced = Set(axes.map { $0 < 0 ? $0 + rank : $0 })
        precondition(reduced.allSatisfy { $0 >= 0 && $0 < rank }, "sum: axes \(axes) out of range for rank \(rank)")
        let kept = shape.enumerated().map { reduced.contains($0.offset) ? 1 : $0.element }
        let outShape = keepDim ? kept : shape.enumerated().filter { !reduced.contains($0.offset) }.map(\.element)
        let inShape = shape
        var out = [Float](repeating: 0, count: kept.elementCount)
        data.withUnsafeBufferPointer { px in out.withUnsafeMutableBufferPointer { po in
            sumToShape(px, from: inShape, to: kept, into: po)
        }}
        let dx = gradTarget
        return Tensor.result(shape: outShape, data: out, inputs: [self]) { node in
            // ∂x = g broadcast back to x's shape (g + 0).
            let zeros = [Float](repeating: 0, count: inShape.elementCount)
            let spread = node.grad!.withUnsafeBufferPointer { pg in zeros.withUnsafeBufferPointer { pz in
                broadcastMap(.add, pz, inShape, pg, kept, out: inShape)
            }}
            dx!.accumulateGrad(spread)
        }
    }

    /// The mean over `axes`: the sum divided by the number of elements reduced.
    public func mean(axes: [Int], keepDim: Bool = false) -> Tensor {
        let n = axes.map { shape[$0 < 0 ? $0 + rank : $0] }.elementCount
        return sum(axes: axes, keepDim: keepDim) * (1 / Float(n))
    }

    /// Σ of all elements, as a 0-d tensor.
    public func sum() -> Tensor { sum(axes: Array(0..<rank)) }

    /// The mean of all elements, as a 0-d tensor.
    public func mean() -> Tensor { mean(axes: Array(0..<rank)) }
}
