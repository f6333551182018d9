/// Reverse-mode automatic differentiation.
///
/// Every op builds its output with `Tensor.result(...)`, which gives the output a `GradNode`
/// that records the input nodes, the arrays the op saves for its backward, and a closure
/// that, given the node (whose `grad` is then final), adds the chain-rule contribution into
/// each input node's `grad`. `backward()` visits the graph once in reverse topological order
/// and frees each node's saved arrays as soon as its closure has run.
///
/// What a backward needs is passed as `saving:` and read back as `node.savedValues(i)`;
/// closures capture only input nodes (`gradTarget`), parameters and small values, never an
/// activation tensor, so that a tensor nobody saved is freed after the forward pass has used it.

/// Whether ops record the graph. Off inside `withoutGrad` (PyTorch's `torch.no_grad()`),
/// which evaluation uses so that no history or gradient memory is kept.
public enum GradMode {
    nonisolated(unsafe) public private(set) static var isEnabled = true

    /// Whether an op that reads a tensor in its backward keeps the tensor's recipe
    /// (`Tensor.recompute`) instead of its values when it has one. On by default; off only to
    /// measure what the recomputation saves.
    nonisolated(unsafe) public private(set) static var recomputes = true

    /// Runs `body` with every op keeping the values it reads in backward, never a recipe.
    public static func withoutRecomputation<R>(_ body: () throws -> R) rethrows -> R {
        let previous = recomputes
        recomputes = false
        defer { recomputes = previous }
        return try body()
    }

    /// Runs `body` with graph recording off, restoring the previous mode afterwards.
    public static func withoutGrad<R>(_ body: () throws -> R) rethrows -> R {
        let previous = isEnabled
        isEnabled = false
        defer { isEnabled = previous }
        return try body()
    }
}

/// An array an op keeps for its backward pass.
enum SavedArray {
    /// The values themselves.
    case stored([Float])
    /// A way to compute the values again from arrays that earlier nodes keep anyway (see
    /// `Tensor.recompute`); it costs no memory until backward calls it.
    case recomputed(() -> [Float])

    /// The values, computed again if they were not stored.
    var values: [Float] {
        switch self {
        case .stored(let values): values
        case .recomputed(let compute): compute()
        }
    }
}

/// The autograd record of one tensor: its gradient and, for an op's output, how to pass that
/// gradient on to the op's inputs.
final class GradNode {
    /// Values in the tensor, and so in its gradient.
    let count: Int
    /// ∂loss/∂tensor; `nil` until a backward pass reaches this node.
    var grad: [Float]?
    /// The nodes of the op's inputs that take a gradient (empty for leaves and after backward).
    var parents: [GradNode] = []
    /// Arrays the op kept for its backward (inputs or its output); freed once backward has run.
    var saved: [SavedArray] = []
    /// Small codes the op kept for its backward: ReLU's "was positive" bit mask (8 values per
    /// byte), or max pooling's winning position within each window (1 byte per output).
    var savedCodes: [UInt8] = []
    /// Accumulates `grad` into the parents' grads. `nil` for leaves and after backward.
    var backwardFn: ((GradNode) -> Void)?

    init(count: Int) { self.count = count }

    /// The values of saved array `i` (computed again if the op kept a recipe for them).
    func savedValues(_ i: Int) -> [Float] {
        precondition(i < saved.count, "backward through a graph that an earlier backward pass has freed: run the forward pass again")
        return saved[i].values
    }

    /// Adds `values` into `grad`. The first contribution is adopted as it is, without a copy
    /// (arrays are copy-on-write, so a buffer shared with another node is copied only if
    /// either is later added to).
    func accumulateGrad(_ values: [Float]) {
        precondition(values.count == count)
        guard grad != nil else { grad = values; return }
        values.withUnsafeBufferPointer { v in grad!.withUnsafeMutableBufferPointer { g in
            for i in 0..<g.count { g[i] += v[i] }
        }}
    }

    /// Takes the (final) gradient out of this node, leaving `nil`. A backward whose input
    /// gradient is an element-wise function of this one rewrites the buffer in place and hands
    /// it on with `accumulateGrad`, so that no second activation-sized buffer is allocated.
    func takeGrad() -> [Float] {
        defer { grad = nil }
        return grad!
    }

    /// Runs `body` on the gradient buffer, allocating it (zeros) first if needed.
    /// Kernels use this to accumulate into an input's gradient without a temporary.
    func withGradBuffer<R>(_ body: (UnsafeMutableBufferPointer<Float>) throws -> R) rethrows -> R {
        if grad == nil { grad = [Float](repeating: 0, count: count) }
        return try grad!.withUnsafeMutableBufferPointer { try body($0) }
    }

    /// Every node this one depends on (itself last), each after all of its inputs.
    func topologicalOrder() -> [GradNode] {
        var order: [GradNode] = []
        var visited = Set<ObjectIdentifier>([ObjectIdentifier(self)])
        // Iterative DFS: (node, next parent index to visit).
        var stack: [(GradNode, Int)] = [(self, 0)]
        while let (node, i) = stack.popLast() {
            if i < node.parents.count {
                stack.append((node, i + 1))
                let p = node.parents[i]
                if visited.insert(ObjectIdentifier(p)).inserted { stack.append((p, 0)) }
            } else {
                order.append(node)
            }
        }
        return order
    }

    /// Bytes of the arrays saved for backward in the graph behind this node, each buffer
    /// counted once (a saved output and its consumer's saved input can be the same storage);
    /// a recipe for recomputing values counts nothing.
    func savedBytes() -> Int {
        var seen = Set<UnsafeRawPointer>()
        var total = 0
        for node in topologicalOrder() {
            total += node.savedCodes.count
            for case .stored(let array) in node.saved {
                array.withUnsafeBufferPointer { p in
                    if let base = p.baseAddress, seen.insert(UnsafeRawPointer(base)).inserted {
                        total += p.count * MemoryLayout<Float>.stride
                    }
                }
            }
        }
        return total
    }
}

extension Tensor {
    /// Whether an op on `inputs` records its output in the graph: recording is on and some
    /// input requires a gradient. Ops that keep extra state for backward ask this first.
    static func recordsGraph(for inputs: [Tensor]) -> Bool {
        GradMode.isEnabled && inputs.contains(where: { $0.requiresGrad })
    }

    /// Creates an op's output. When recording is on and any input requires a gradient, the
    /// output's node remembers the inputs' nodes, the `saving` arrays (and codes) and `backward`;
    /// otherwise the output is a plain leaf and nothing is kept.
    static func result(shape: [Int], data: [Float], inputs: [Tensor], saving: [SavedArray] = [],
                       savingCodes: [UInt8] = [], backward: @escaping (GradNode) -> Void) -> Tensor {
        let out = Tensor(shape: shape, data: data)
        if recordsGraph(for: inputs) {
            out.requiresGrad = true
            let node = out.node
            node.parents = inputs.filter(\.requiresGrad).map(\.node)
            node.saved = saving
            node.savedCodes = savingCodes
            node.backwardFn = backward
        }
        return out
    }

    /// Back-propagates from this tensor. A scalar starts from ∂self/∂self = 1; any other
    /// tensor needs `seed` (the upstream gradient, same shape). Leaves keep their `grad`
    /// (accumulated, as in PyTorch); intermediate gradients, saved arrays and the graph are
    /// freed node by node as the pass goes.
    public func backward(seed: [Float]? = nil) { backward(seed: seed, leafFinished: nil) }

    /// `backward`, calling `leafFinished(leaf)` for every leaf that received a gradient as soon
    /// as that gradient is final: the pass visits nodes in reverse topological order, so every
    /// node that adds into a leaf has run by the time the leaf itself comes up (SGD applies its
    /// update there, `SGD.backwardAndStep`).
    func backward(seed: [Float]?, leafFinished: ((GradNode) -> Void)?) {
        precondition(requiresGrad, "backward() on a tensor that does not require a gradient")
        let root = node
        if let seed {
            precondition(seed.count == count, "seed has \(seed.count) values, tensor \(count)")
            root.accumulateGrad(seed)
        } else {
            precondition(count == 1, "backward() without a seed needs a scalar, got \(shape.shapeDescription)")
            root.accumulateGrad([1])
        }
        for node in root.topologicalOrder().reversed() {
            guard let fn = node.backwardFn else {
                if node.grad != nil { leafFinished?(node) }
                continue
            }
            if node.grad != nil { fn(node) }
            node.backwardFn = nil
            node.parents = []
            node.saved = []
            node.savedCodes = []
            node.grad = nil  // intermediate: its contribution has been passed on
        }
    }

    /// Bytes that the graph behind this tensor keeps for its backward pass (activations
    /// saved by the ops; parameters are not counted). 0 for a tensor without history.
    public var bytesSavedForBackward: Int { gradNode?.savedBytes() ?? 0 }
}
