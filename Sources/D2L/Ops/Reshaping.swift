/// Shape-changing ops: reshape/flatten (same values, new shape) and channel concatenation.
extension Tensor {
    /// The same values viewed with a new shape of equal element count; one extent may be -1.
    public func reshaped(_ newShape: [Int]) -> Tensor {
        var target = newShape
        if let free = target.firstIndex(of: -1) {
            let known = target.enumerated().filter { $0.offset != free }.map(\.element).elementCount
            precondition(known > 0 && count % known == 0, "reshape: cannot infer -1 in \(newShape) for \(count) values")
            target[free] = count / known
        }
        precondition(target.elementCount == count,
                     "reshape: \(shape.shapeDescription) has \(count) values, \(target.shapeDescription) needs \(target.elementCount)")
        let dx = gradTarget
        return Tensor.result(shape: target, data: data, inputs: [self]) { node in
            dx!.accumulateGrad(node.takeGrad())
        }
    }

    /// Keeps axis 0 (the batch) and flattens the rest: (N, C, H, W) → (N, C·H·W).
    public func flattened() -> Tensor {
        rank <= 1 ? reshaped([count]) : reshaped([shape[0], count / shape[0]])
    }
}

/// Concatenates tensors along axis 1 (channels for NCHW, features for (N, F)). All other
/// extents must agree. Backward slices the gradient back to each input.
public func concatChannels(_ parts: [Tensor]) -> Tensor {
    precondition(!parts.isEmpty, "concat of no tensors")
    let first = parts[0].shape
    precondition(first.count >= 2, "concat along channels needs rank ≥ 2, got \(first.shapeDescription)")
    for p in parts {
        precondition(p.rank == first.count && p.shape[0] == first[0] && Array(p.shape.dropFirst(2)) == Array(first.dropFirst(2)),
                     "concat: \(p.shape.shapeDescription) does not match \(first.shapeDescription) outside axis 1")
    }
    let n = first[0], inner = first.dropFirst(2).reduce(1, *)
    let channels = parts.map { $0.shape[1] }
    let total = channels.reduce(0, +)
    var shape = first; shape[1] = total
    var out = [Float](repeating: 0, count: shape.elementCount)
    out.withUnsafeMutableBufferPointer { po in
        var offset = 0
        for (p, c) in zip(parts, channels) {
            p.data.withUnsafeBufferPointer { pp in
                for i in 0..<n {
                    let dst = po.baseAddress! + (i * total + offset) * inner
                    dst.update(from: pp.baseAddress! + i * c * inner, count: c * inner)
                }
            }
            offset += c
        }
    }
    let targets = parts.map(\.gradTarget)
    return Tensor.result(shape: shape, data: out, inputs: parts) { node in
        let g = node.grad!
        g.withUnsafeBufferPointer { pg in
            var offset = 0
            for (target, c) in zip(targets, channels) {
                if let target {
                    target.withGradBuffer { gp in
                        for i in 0..<n {
                            let src = pg.baseAddress! + (i * total + offset) * inner
                            for j in 0..<(c * inner) { gp[i * c * inner + j] += src[j] }
                        }
                    }
                }
                offset += c
            }
        }
    }
}
