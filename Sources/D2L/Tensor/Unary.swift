import Foundation

/// Element-wise functions with gradients. Backward multiplies the upstream gradient by f′,
/// written in terms of the input x and the output y = f(x).
enum UnaryKind { case sqrt, exp, log, square, sigmoid, relu }

private func unaryOp(_ kind: UnaryKind, _ x: Tensor) -> Tensor {
    // Every element is written below, so the buffer need not be zeroed first.
    let out = [Float](unsafeUninitializedCapacity: x.count) { po, initialized in
    x.data.withUnsafeBufferPointer { px in
        Parallel.forRanges(po.count) { r in
            switch kind {
            case .sqrt: for i in r { po[i] = px[i].squareRoot() }
            case .exp: for i in r { po[i] = Foundation.exp(px[i]) }
            case .log: for i in r { po[i] = Foundation.log(px[i]) }
            case .square: for i in r { po[i] = px[i] * px[i] }
            case .sigmoid: for i in r { po[i] = sigmoidValue(px[i]) }
            case .relu: for i in r { po[i] = Swift.max(px[i], 0) }
            }
        }
    }
    initialized = x.count
    }
    // Each derivative is written in terms of whichever of x and y it needs, and only that
    // one is saved: ReLU's mask comes from its output, so its input can be freed.
    let usesInput = kind == .log || kind == .square
    let gx = x.gradTarget
    return Tensor.result(shape: x.shape, data: out, inputs: [x], saving: [usesInput ? x.data : out]) { node in
        // g ← g·f′, in the output gradient's own buffer, which then becomes ∂x.
        var g = node.takeGrad()
        node.saved[0].withUnsafeBufferPointer { p in g.withUnsafeMutableBufferPointer { g in
            Parallel.forRanges(g.count) { r in
                switch kind {
                case .sqrt: for i in r { g[i] = g[i] * 0.5 / p[i] }             // 1/(2√x) = 1/(2y)
                case .exp: for i in r { g[i] = g[i] * p[i] }                    // eˣ = y
                case .log: for i in r { g[i] = g[i] / p[i] }                    // 1/x
                case .square: for i in r { g[i] = g[i] * 2 * p[i] }             // 2x
                case .sigmoid: for i in r { g[i] = g[i] * p[i] * (1 - p[i]) }   // σ(1 − σ) = y(1 − y)
                case .relu:                                                     // 1 where y > 0, i.e. x > 0 (0 at 0, as PyTorch)
                    SIMDLoops.maskReLUGradient(g.baseAddress! + r.lowerBound, p.baseAddress! + r.lowerBound, r.count)
                }
            }
        }}
        gx!.accumulateGrad(g)
    }
}

extension Tensor {
    /// √x.
    public func sqrt() -> Tensor { unaryOp(.sqrt, self) }
    /// eˣ.
    public func exp() -> Tensor { unaryOp(.exp, self) }
    /// ln x.
    public func log() -> Tensor { unaryOp(.log, self) }
    /// x² (the book's `X ** 2`).
    public func squared() -> Tensor { unaryOp(.square, self) }
    /// σ(x) = 1 / (1 + e⁻ˣ).
    public func sigmoid() -> Tensor { unaryOp(.sigmoid, self) }
    /// max(x, 0).
    public func relu() -> Tensor { unaryOp(.relu, self) }
}

/// The logistic function. For very negative x, e⁻ˣ overflows to +∞ and the result is
/// exactly 0, never NaN, so no branch is needed.
@inline(__always)
func sigmoidValue(_ x: Float) -> Float {
    1 / (1 + Foundation.exp(-x))
}
