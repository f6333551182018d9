import Foundation

/// Element-wise functions with gradients. Each backward multiplies the upstream gradient
/// by f′, written in terms of the input x and the output y = f(x).
@inline(__always)
private func unaryOp(_ x: Tensor, _ f: @escaping (Float) -> Float,
                     derivative: @escaping (_ x: Float, _ y: Float) -> Float) -> Tensor {
    var out = [Float](repeating: 0, count: x.count)
    x.data.withUnsafeBufferPointer { px in out.withUnsafeMutableBufferPointer { po in
        for i in 0..<po.count { po[i] = f(px[i]) }
    }}
    return Tensor.result(shape: x.shape, data: out, inputs: [x]) { y in
        let g = y.grad!
        x.data.withUnsafeBufferPointer { px in y.data.withUnsafeBufferPointer { py in
            x.withGradBuffer { gx in
                for i in 0..<gx.count { gx[i] += g[i] * derivative(px[i], py[i]) }
            }
        }}
    }
}

extension Tensor {
    /// √x; d/dx = 1 / (2√x).
    public func sqrt() -> Tensor { unaryOp(self, { $0.squareRoot() }, derivative: { _, y in 0.5 / y }) }
    /// eˣ; d/dx = eˣ.
    public func exp() -> Tensor { unaryOp(self, { Foundation.exp($0) }, derivative: { _, y in y }) }
    /// ln x; d/dx = 1/x.
    public func log() -> Tensor { unaryOp(self, { Foundation.log($0) }, derivative: { x, _ in 1 / x }) }
    /// x²; d/dx = 2x (the book's `X ** 2`).
    public func squared() -> Tensor { unaryOp(self, { $0 * $0 }, derivative: { x, _ in 2 * x }) }
    /// σ(x) = 1 / (1 + e⁻ˣ); d/dx = σ(1 − σ).
    public func sigmoid() -> Tensor { unaryOp(self, sigmoidValue, derivative: { _, y in y * (1 - y) }) }
    /// max(x, 0); d/dx = 1 for x > 0, else 0 (PyTorch's choice at 0).
    public func relu() -> Tensor { unaryOp(self, { Swift.max($0, 0) }, derivative: { x, _ in x > 0 ? 1 : 0 }) }
}

/// A numerically safe logistic function (no overflow of e⁻ˣ for large negative x).
@inline(__always)
func sigmoidValue(_ x: Float) -> Float {
    if x >= 0 { return 1 / (1 + Foundation.exp(-x)) }
    let e = Foundation.exp(x)
    return e / (1 + e)
}
