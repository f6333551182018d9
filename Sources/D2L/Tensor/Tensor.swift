import Foundation

/// A dense Float32 tensor in row-major (C-contiguous) order; images are NCHW.
///
/// `Tensor` is a reference type and a node of the autograd graph at the same time,
/// as in micrograd: an op creates its output together with a `backward` closure that
/// reads the output's gradient and *accumulates* (`+=`) into the gradients of its inputs.
/// Parameters are leaf tensors with `requiresGrad == true`; the optimiser updates
/// their `data` in place.
public final class Tensor {
    /// The extent of each axis, outermost first.
    public let shape: [Int]
    /// The values, `shape.product` of them, row-major.
    public var data: [Float]
    /// ∂loss/∂self, same layout as `data`; `nil` until a backward pass reaches this tensor.
    public var grad: [Float]?
    /// Whether gradients flow into this tensor (leaf parameters, inputs under test, and
    /// every tensor computed from such a tensor while gradient recording is on).
    public var requiresGrad: Bool

    /// The inputs this tensor was computed from (empty for leaves and after backward).
    var parents: [Tensor] = []
    /// Accumulates this tensor's `grad` into its parents' grads. `nil` for leaves.
    var backwardFn: ((Tensor) -> Void)?

    public init(shape: [Int], data: [Float], requiresGrad: Bool = false) {
        precondition(shape.allSatisfy { $0 >= 0 }, "negative extent in shape \(shape)")
        precondition(data.count == shape.elementCount,
                     "\(data.count) values do not fill shape \(shape.shapeDescription)")
        self.shape = shape
        self.data = data
        self.requiresGrad = requiresGrad
    }

    /// A tensor filled with `value`.
    public convenience init(repeating value: Float, shape: [Int], requiresGrad: Bool = false) {
        self.init(shape: shape, data: [Float](repeating: value, count: shape.elementCount),
                  requiresGrad: requiresGrad)
    }

    public static func zeros(_ shape: [Int], requiresGrad: Bool = false) -> Tensor {
        Tensor(repeating: 0, shape: shape, requiresGrad: requiresGrad)
    }

    public static func ones(_ shape: [Int], requiresGrad: Bool = false) -> Tensor {
        Tensor(repeating: 1, shape: shape, requiresGrad: requiresGrad)
    }

    /// A 0-d tensor holding one value.
    public static func scalar(_ value: Float) -> Tensor {
        Tensor(shape: [], data: [value])
    }

    public var count: Int { data.count }

    /// Storage for `count` values that are left unset: for kernels that write every element
    /// of their output, so that the buffer is not zeroed first for nothing.
    static func uninitializedStorage(_ count: Int) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { _, initialized in initialized = count }
    }
    public var rank: Int { shape.count }

    /// The only value of a one-element tensor (a loss, a scalar).
    public var item: Float {
        precondition(data.count == 1, "item needs a one-element tensor, got \(shape.shapeDescription)")
        return data[0]
    }

    /// A new leaf with a copy of the values and no gradient history (PyTorch's `.detach()`).
    public func detached() -> Tensor {
        Tensor(shape: shape, data: data)
    }

    /// Adds `values` into `grad`, allocating it on first use.
    func accumulateGrad(_ values: UnsafeBufferPointer<Float>) {
        precondition(values.count == data.count)
        guard grad != nil else { grad = Array(values); return }
        grad!.withUnsafeMutableBufferPointer { g in
            for i in 0..<g.count { g[i] += values[i] }
        }
    }

    /// Runs `body` on the gradient buffer, allocating it (zeros) first if needed.
    /// Kernels use this to accumulate into an input's gradient without a temporary.
    func withGradBuffer<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        if grad == nil { grad = [Float](repeating: 0, count: data.count) }
        return try grad!.withUnsafeMutableBufferPointer { try body($0) }
    }

    /// Sets the gradient to nil (used by the optimiser's `zeroGrad`).
    public func zeroGrad() { grad = nil }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let shown = data.prefix(8).map { String(format: "%.4f", $0) }.joined(separator: ", ")
        return "Tensor(\(shape.shapeDescription), [\(shown)\(data.count > 8 ? ", …" : "")])"
    }
}
