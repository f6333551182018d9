import Foundation

/// A dense Float32 tensor in row-major (C-contiguous) order; images are NCHW.
///
/// `Tensor` is a reference type holding values; its autograd record is a separate `GradNode`
/// (its gradient, the nodes it was computed from, and a `backward` closure). The graph links
/// nodes, not tensors, so an activation's values stay alive only while the program holds the
/// tensor or while some op has saved them for its backward (PyTorch's `save_for_backward`):
/// a batch-norm output that only feeds a ReLU is freed as soon as the forward pass moves on.
/// Parameters are leaf tensors with `requiresGrad == true`; the optimiser updates their `data`
/// in place.
public final class Tensor {
    /// The extent of each axis, outermost first.
    public let shape: [Int]
    /// The values, `shape.product` of them, row-major.
    public var data: [Float]
    /// ∂loss/∂self, same layout as `data`; `nil` until a backward pass reaches this tensor.
    public var grad: [Float]? {
        get { gradNode?.grad }
        set { node.grad = newValue }
    }
    /// Whether gradients flow into this tensor (leaf parameters, inputs under test, and
    /// every tensor computed from such a tensor while gradient recording is on).
    public var requiresGrad: Bool

    /// This tensor's autograd record, once it has one.
    private(set) var gradNode: GradNode?
    /// This tensor's autograd record, created on first use.
    var node: GradNode {
        if let gradNode { return gradNode }
        let created = GradNode(count: data.count)
        gradNode = created
        return created
    }
    /// The node an op's backward accumulates into, or `nil` if no gradient flows here.
    var gradTarget: GradNode? { requiresGrad ? node : nil }

    /// A way to compute `data` again from arrays that the graph keeps anyway, when that is
    /// cheap: batch norm's output is an affine map of its saved input, and ReLU passes the
    /// recipe on. An op that needs this tensor in its backward then keeps the recipe instead
    /// of the values, so the input of a BN → ReLU → convolution is kept once, as BN's input,
    /// not twice (the memory-efficient DenseNet of Pleiss et al., 2017). The recipe reads
    /// arrays of nodes that run their backward after every consumer of this tensor.
    var recompute: (() -> [Float])?

    /// What an op that reads this tensor's values in its backward keeps: the recipe when
    /// there is one, otherwise the values (shared, not copied).
    var keptForBackward: SavedArray {
        guard GradMode.recomputes, let recompute else { return .stored(data) }
        return .recomputed(recompute)
    }

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

    /// Sets the gradient to nil (used by the optimiser's `zeroGrad`).
    public func zeroGrad() { gradNode?.grad = nil }
}

extension Tensor: CustomStringConvertible {
    public var description: String {
        let shown = data.prefix(8).map { String(format: "%.4f", $0) }.joined(separator: ", ")
        return "Tensor(\(shape.shapeDescription), [\(shown)\(data.count > 8 ? ", …" : "")])"
    }
}
