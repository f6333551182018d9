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
    // + and − need no values for backward. × needs each operand only for the other's
    // gradient (so dropout keeps its mask, not its input); ÷ needs b, and y for ∂b.
    let (da, db, aShape, bShape) = (a.gradTarget, b.gradTarget, a.shape, b.shape)
    let saving: [SavedArray] = switch kind {
    case .add, .sub: []
    case .mul: [db != nil ? a.keptForBackward : .stored([]), da != nil ? b.keptForBackward : .stored([])]
    case .div: [.stored([]), b.keptForBackward, .stored(db != nil ? out : [])]
    }
    return Tensor.result(shape: shape, data: out, inputs: [a, b], saving: saving) { node in
        let g = node.grad!
        /// target.grad += scale · sum-to-shape(values).
        func route(_ values: [Float], to target: GradNode, shape targetShape: [Int], scale: Float = 1) {
            values.withUnsafeBufferPointer { v in
                target.withGradBuffer { sumToShape(v, from: shape, to: targetShape, into: $0, scale: scale) }
            }
        }
        /// g ∘ operand, broadcast to the output shape.
        func times(_ kind: BinaryKind, _ values: [Float], _ operand: [Float], _ operandShape: [Int]) -> [Float] {
            values.withUnsafeBufferPointer { pv in operand.withUnsafeBufferPointer { po in
                broadcastMap(kind, pv, shape, po, operandShape, out: shape)
            }}
        }
        switch kind {
        case .add, .sub:
            // Same shape: ∂a is g itself, handed on without a copy.
            if let da { if aShape == shape { da.accumulateGrad(g) } else { route(g, to: da, shape: aShape) } }
            if let db {
                if kind == .add && bShape == shape { db.accumulateGrad(g) } else { route(g, to: db, shape: bShape, scale: kind == .add ? 1 : -1) }
            }
        case .mul:
            if let da { route(times(.mul, g, node.savedValues(1), bShape), to: da, shape: aShape) }
            if let db { route(times(.mul, g, node.savedValues(0), aShape), to: db, shape: bShape) }
        case .div:
            let b = node.savedValues(1)
            if let da { route(times(.div, g, b, bShape), to: da, shape: aShape) }
            if let db {
                let y = node.savedValues(2)
                var gy = g
                for i in gy.indices { gy[i] *= y[i] }
                route(times(.div, gy, b, bShape), to: db, shape: bShape, scale: -1)
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
