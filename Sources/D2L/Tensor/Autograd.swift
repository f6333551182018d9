/// Reverse-mode automatic differentiation.
///
/// Every op builds its output with `Tensor.result(...)`, which records the inputs and a
/// closure that, given the output (whose `grad` is then final), adds the chain-rule
/// contribution into each input's `grad`. `backward()` visits the graph once in reverse
/// topological order, then frees it.

/// Whether ops record the graph. Off inside `withoutGrad` (PyTorch's `torch.no_grad()`),
/// which evaluation uses so that no history or gradient memory is kept.
public enum GradMode {
    nonisolated(unsafe) public private(set) static var isEnabled = true

    /// Runs `body` with graph recording off, restoring the previous mode afterwards.
    public static func withoutGrad<R>(_ body: () throws -> R) rethrows -> R {
        let previous = isEnabled
        isEnabled = false
        defer { isEnabled = previous }
        return try body()
    }
}

extension Tensor {
    /// Creates an op's output. When recording is on and any input requires a gradient,
    /// the output remembers its inputs and `backward`; otherwise it is a plain leaf.
    static func result(shape: [Int], data: [Float], inputs: [Tensor],
                       backward: @escaping (Tensor) -> Void) -> Tensor {
        let out = Tensor(shape: shape, data: data)
        if GradMode.isEnabled && inputs.contains(where: { $0.requiresGrad }) {
            out.requiresGrad = true
            out.parents = inputs
            out.backwardFn = backward
        }
        return out
    }

    /// Back-propagates from this tensor. A scalar starts from ∂self/∂self = 1; any other
    /// tensor needs `seed` (the upstream gradient, same shape). Leaves keep their `grad`
    /// (accumulated, as in PyTorch); intermediate gradients and the graph are freed.
    public func backward(seed: [Float]? = nil) {
        precondition(requiresGrad, "backward() on a tensor that does not require a gradient")
        if let seed {
            precondition(seed.count == count, "seed has \(seed.count) values, tensor \(count)")
            seed.withUnsafeBufferPointer { accumulateGrad($0) }
        } else {
            precondition(count == 1, "backward() without a seed needs a scalar, got \(shape.shapeDescription)")
            [Float(1)].withUnsafeBufferPointer { accumulateGrad($0) }
        }
        for node in topologicalOrder().reversed() {
            guard let fn = node.backwardFn else { continue }
            if node.grad != nil { fn(node) }
            node.backwardFn = nil
            node.parents = []
            node.grad = nil  // intermediate: its contribution has been passed on
        }
    }

    /// Every tensor this one depends on (itself last), each after all of its inputs.
    private func topologicalOrder() -> [Tensor] {
        var order: [Tensor] = []
        var visited = Set<ObjectIdentifier>()
        // Iterative DFS: (node, next parent index to visit).
        var stack: [(Tensor, Int)] = [(self, 0)]
        visited.insert(ObjectIdentifier(self))
        while let (node, i) = stack.popLast() {
            if i < node.parents.count {
                stack.append((node, i + 1))
                let p = node.parents[i]
                if p.requiresGrad && visited.insert(ObjectIdentifier(p)).inserted {
                    stack.append((p, 0))
                }
            } else {
                order.append(node)
            }
        }
        return order
    }
}
