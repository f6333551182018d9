/// Broadcasting element-wise arithmetic with gradients: + − × ÷ between tensors and with
/// scalars. Each op's backward multiplies the upstream gradient by the local derivative
/// and sums it back to the operand's shape (`sumToShape`).

/// Applies `f` element-wise after broadcasting; `da`/`db` give ∂f/∂a and ∂f/∂b from
/// (a, b, f(a,b)) for the backward pass.
@inline(__always)
private func binaryOp(_ a: Tensor, _ b: Tensor, _ name: String,
                      _ f: @escaping (Float, Float) -> Float,
                      da: @escaping (Float, Float, Float) -> Float,
                      db: @escaping (Float, Float, Float) -> Float) -> Tensor {
    guard let shape = broadcastShape(a.shape, b.shape) else {
        preconditionFailure("\(name): shapes \(a.shape.shapeDescription) and \(b.shape.shapeDescription) do not broadcast")
    }
    let sa = broadcastStrides(a.shape, to: shape), sb = broadcastStrides(b.shape, to: shape)
    var out = [Float](repeating: 0, count: shape.elementCount)
    a.data.withUnsafeBufferPointer { pa in b.data.withUnsafeBufferPointer { pb in
    out.withUnsafeMutableBufferPointer { po in
        if a.shape == b.shape {
            for i in 0..<po.count { po[i] = f(pa[i], pb[i]) }
        } else {
            forEachBroadcast(shape, sa, sb) { o, ia, ib in po[o] = f(pa[ia], pb[ib]) }
        }
    }}}
    return Tensor.result(shape: shape, data: out, inputs: [a, b]) { y in
        let g = y.grad!, yv = y.data
        for (operand, isA) in [(a, true), (b, false)] where operand.requiresGrad {
            var local = [Float](repeating: 0, count: shape.elementCount)
            a.data.withUnsafeBufferPointer { pa in b.data.withUnsafeBufferPointer { pb in
            local.withUnsafeMutableBufferPointer { pl in
                forEachBroadcast(shape, sa, sb) { o, ia, ib in
                    let d = isA ? da(pa[ia], pb[ib], yv[o]) : db(pa[ia], pb[ib], yv[o])
                    pl[o] = g[o] * d
                }
            }}}
            local.withUnsafeBufferPointer { pl in
                operand.withGradBuffer { sumToShape(pl, from: shape, to: operand.shape, into: $0) }
            }
        }
    }
}

extension Tensor {
    public static func + (a: Tensor, b: Tensor) -> Tensor {
        binaryOp(a, b, "add", { $0 + $1 }, da: { _, _, _ in 1 }, db: { _, _, _ in 1 })
    }
    public static func - (a: Tensor, b: Tensor) -> Tensor {
        binaryOp(a, b, "sub", { $0 - $1 }, da: { _, _, _ in 1 }, db: { _, _, _ in -1 })
    }
    public static func * (a: Tensor, b: Tensor) -> Tensor {
        binaryOp(a, b, "mul", { $0 * $1 }, da: { _, b, _ in b }, db: { a, _, _ in a })
    }
    public static func / (a: Tensor, b: Tensor) -> Tensor {
        binaryOp(a, b, "div", { $0 / $1 }, da: { _, b, _ in 1 / b }, db: { _, b, y in -y / b })
    }

    public static func + (a: Tensor, s: Float) -> Tensor { a + Tensor.scalar(s) }
    public static func + (s: Float, a: Tensor) -> Tensor { Tensor.scalar(s) + a }
    public static func - (a: Tensor, s: Float) -> Tensor { a - Tensor.scalar(s) }
    public static func - (s: Float, a: Tensor) -> Tensor { Tensor.scalar(s) - a }
    public static func * (a: Tensor, s: Float) -> Tensor { a * Tensor.scalar(s) }
    public static func * (s: Float, a: Tensor) -> Tensor { Tensor.scalar(s) * a }
    public static func / (a: Tensor, s: Float) -> Tensor { a / Tensor.scalar(s) }
    public static prefix func - (a: Tensor) -> Tensor { a * Float(-1) }
}
