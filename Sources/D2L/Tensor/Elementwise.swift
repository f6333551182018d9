/// Broadcasting element-wise arithmetic with gradients: + − × ÷ between tensors and with
/// scalars. Backward multiplies the upstream gradient g by the local derivative and sums it
/// back to each operand's shape:
///   a + b: ∂a = g, ∂b = g;   a − b: ∂a = g, ∂b = −g;
///   a · b: ∂a = g·b, ∂b = g·a;   a / b: ∂a = g/b, ∂b = −g·y/b  (y = a/b).
private func binaryOp(_ kind: BinaryKind, _ a: Tensor, _ b: Tensor) -> Tensor {
    guard let shape = broadcastShape(a.shape, b.shape) else {
        preconditionFailure("\(kind): shapes \(a.shape.shapeDescription) and \(b.shape.shapeDescription) do not broadcast")
    }
    let out = a.data.withUnsafeBufferPointer { pa in b.data.withUnsafeBufferPointer { pb in
        broadcastMap(kind, pa, a.shape, pb, b.shape, out: shape)
    }}
    return Tensor.result(shape: shape, data: out, inputs: [a, b]) { y in
        let g = y.grad!
        /// operand.grad += scale · sum-to-shape(values).
        func route(_ values: [Float], to operand: Tensor, scale: Float = 1) {
            values.withUnsafeBufferPointer { v in
                operand.withGradBuffer { sumToShape(v, from: shape, to: operand.shape, into: $0, scale: scale) }
            }
        }
        /// g ∘ operand, broadcast to the output shape.
        func times(_ kind: BinaryKind, _ values: [Float], _ operand: Tensor) -> [Float] {
            values.withUnsafeBufferPointer { pv in operand.data.withUnsafeBufferPointer { po in
                broadcastMap(kind, pv, shape, po, operand.shape, out: shape)
            }}
        }
        switch kind {
        case .add, .sub:
            if a.requiresGrad { route(g, to: a) }
            if b.requiresGrad { route(g, to: b, scale: kind == .add ? 1 : -1) }
        case .mul:
            if a.requiresGrad { route(times(.mul, g, b), to: a) }
            if b.requiresGrad { route(times(.mul, g, a), to: b) }
        case .div:
            if a.requiresGrad { route(times(.div, g, b), to: a) }
            if b.requiresGrad {
                var gy = g
                for i in gy.indices { gy[i] *= y.data[i] }
                route(times(.div, gy, b), to: b, scale: -1)
            }
        }
    }
}

extension Tensor {
    public static func + (a: Tensor, b: Tensor) -> Tensor { binaryOp(.add, a, b) }
    public static func - (a: Tensor, b: Tensor) -> Tensor { binaryOp(.sub, a, b) }
    public static func * (a: Tensor, b: Tensor) -> Tensor { binaryOp(.mul, a, b) }
    public static func / (a: Tensor, b: Tensor) -> Tensor { binaryOp(.div, a, b) }

    public static func + (a: Tensor, s: Float) -> Tensor { a + Tensor.scalar(s) }
    public static func + (s: Float, a: Tensor) -> Tensor { Tensor.scalar(s) + a }
    public static func - (a: Tensor, s: Float) -> Tensor { a - Tensor.scalar(s) }
    public static func - (s: Float, a: Tensor) -> Tensor { Tensor.scalar(s) - a }
    public static func * (a: Tensor, s: Float) -> Tensor { a * Tensor.scalar(s) }
    public static func * (s: Float, a: Tensor) -> Tensor { Tensor.scalar(s) * a }
    public static func / (a: Tensor, s: Float) -> Tensor { a / Tensor.scalar(s) }
    public static prefix func - (a: Tensor) -> Tensor { a * Float(-1) }
}
