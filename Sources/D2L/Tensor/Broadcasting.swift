/// Index bookkeeping for broadcasting element-wise ops.

/// Calls `body(o, ia, ib)` for every element `o` of a row-major tensor of shape `out`,
/// with `ia`/`ib` the matching offsets into two operands whose (broadcast) strides are
/// `sa`/`sb`. The innermost axis runs as a tight loop.
@inline(__always)
func forEachBroadcast(_ out: [Int], _ sa: [Int], _ sb: [Int], _ body: (Int, Int, Int) -> Void) {
    let rank = out.count
    if rank == 0 { body(0, 0, 0); return }
    let inner = out[rank - 1], ia1 = sa[rank - 1], ib1 = sb[rank - 1]
    let outer = out.elementCount / Swift.max(inner, 1)
    if inner == 0 { return }
    var index = [Int](repeating: 0, count: rank)
    var baseA = 0, baseB = 0, o = 0
    for _ in 0..<outer {
        var ia = baseA, ib = baseB
        for _ in 0..<inner {
            body(o, ia, ib)
            o += 1; ia += ia1; ib += ib1
        }
        // Advance the multi-index over the outer axes (odometer style).
        var axis = rank - 2
        while axis >= 0 {
            index[axis] += 1
            baseA += sa[axis]; baseB += sb[axis]
            if index[axis] < out[axis] { break }
            baseA -= sa[axis] * out[axis]; baseB -= sb[axis] * out[axis]
            index[axis] = 0
            axis -= 1
        }
    }
}

/// Sums `values` (laid out in shape `from`) down to `shape`, which broadcasts to `from`:
/// the adjoint of broadcasting, used to route gradients back to a stretched operand.
func sumToShape(_ values: UnsafeBufferPointer<Float>, from: [Int], to shape: [Int],
                into target: UnsafeMutableBufferPointer<Float>) {
    if from == shape {
        for i in 0..<target.count { target[i] += values[i] }
        return
    }
    let st = broadcastStrides(shape, to: from)
    let zero = [Int](repeating: 0, count: from.count)
    forEachBroadcast(from, st, zero) { o, it, _ in target[it] += values[o] }
}
