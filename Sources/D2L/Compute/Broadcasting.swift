/// Index bookkeeping for broadcasting element-wise ops and their adjoint, the reduction of a
/// gradient back to an operand's shape.

/// How to walk an output tensor and two broadcast operands together, with adjacent axes
/// merged wherever all three stay contiguous across them: (N, C, H, W) ⊕ (1, C, 1, 1) is
/// walked as N·C rows of H·W elements, so the inner loop is long and simple.
struct BroadcastPlan {
    /// Extents of the merged axes; the last one is the inner loop.
    let shape: [Int]
    let stridesA: [Int]
    let stridesB: [Int]

    init(out: [Int], stridesA: [Int], stridesB: [Int]) {
        var shape: [Int] = [], sa: [Int] = [], sb: [Int] = []
        for axis in 0..<out.count where out[axis] != 1 {
            if let last = shape.indices.last,
               sa[last] == stridesA[axis] * out[axis], sb[last] == stridesB[axis] * out[axis] {
                shape[last] *= out[axis]; sa[last] = stridesA[axis]; sb[last] = stridesB[axis]
            } else {
                shape.append(out[axis]); sa.append(stridesA[axis]); sb.append(stridesB[axis])
            }
        }
        if shape.isEmpty { shape = [1]; sa = [0]; sb = [0] }
        self.shape = shape; self.stridesA = sa; self.stridesB = sb
    }

    var inner: Int { shape[shape.count - 1] }
    var innerA: Int { stridesA[stridesA.count - 1] }
    var innerB: Int { stridesB[stridesB.count - 1] }

    /// Calls `row(o, ia, ib)` with the starting offsets (output, operand a, operand b) of every
    /// inner row; within a row the offsets advance by 1, `innerA` and `innerB`.
    /// With `parallel`, rows are split across the workers (rows write disjoint outputs).
    @inline(__always)
    func forEachRow(parallel: Bool = false, _ row: (Int, Int, Int) -> Void) {
        let rows = shape.elementCount / Swift.max(inner, 1)
        if rows == 0 || inner == 0 { return }
        if parallel && rows > 1 {
            Parallel.forRanges(rows, minPerWorker: Swift.max(1, 32_768 / inner)) { forRows($0, row) }
        } else {
            forRows(0..<rows, row)
        }
    }

    @inline(__always)
    private func forRows(_ range: Range<Int>, _ row: (Int, Int, Int) -> Void) {
        let rank = shape.count
        // Offsets of the first row of the range, from its multi-index.
        var index = [Int](repeating: 0, count: rank)
        var ia = 0, ib = 0, rest = range.lowerBound
        for axis in stride(from: rank - 2, through: 0, by: -1) {
            index[axis] = rest % shape[axis]; rest /= shape[axis]
            ia += index[axis] * stridesA[axis]; ib += index[axis] * stridesB[axis]
        }
        for r in range {
            row(r * inner, ia, ib)
            var axis = rank - 2
            while axis >= 0 {     // odometer over the outer axes
                index[axis] += 1
                ia += stridesA[axis]; ib += stridesB[axis]
                if index[axis] < shape[axis] { break }
                ia -= stridesA[axis] * shape[axis]; ib -= stridesB[axis] * shape[axis]
                index[axis] = 0
                axis -= 1
            }
        }
    }
}

/// The element-wise binary operations.
enum BinaryKind { case add, sub, mul, div }

/// out[o] = a[ia] ∘ b[ib] over the broadcast shape `out` (a and b given with their shapes).
func broadcastMap(_ kind: BinaryKind, _ a: UnsafeBufferPointer<Float>, _ aShape: [Int],
                  _ b: UnsafeBufferPointer<Float>, _ bShape: [Int], out: [Int]) -> [Float] {
    let plan = BroadcastPlan(out: out, stridesA: broadcastStrides(aShape, to: out), stridesB: broadcastStrides(bShape, to: out))
    // Every element is written below, so the buffer need not be zeroed first.
    return [Float](unsafeUninitializedCapacity: out.elementCount) { po, initialized in
        let n = plan.inner, sa = plan.innerA, sb = plan.innerB
        let pa = a.baseAddress!, pb = b.baseAddress!, dst = po.baseAddress!
        plan.forEachRow(parallel: true) { o, ia, ib in
            switch kind {
            case .add: mapRow(dst + o, pa + ia, sa, pb + ib, sb, n) { $0 + $1 }
            case .sub: mapRow(dst + o, pa + ia, sa, pb + ib, sb, n) { $0 - $1 }
            case .mul: mapRow(dst + o, pa + ia, sa, pb + ib, sb, n) { $0 * $1 }
            case .div: mapRow(dst + o, pa + ia, sa, pb + ib, sb, n) { $0 / $1 }
            }
        }
        initialized = out.elementCount
    }
}

/// One inner row, with the stride patterns that occur (1 or 0) as separate loops so each
/// can be vectorised.
@inline(__always)
private func mapRow(_ o: UnsafeMutablePointer<Float>, _ a: UnsafePointer<Float>, _ sa: Int,
                    _ b: UnsafePointer<Float>, _ sb: Int, _ n: Int, _ f: (Float, Float) -> Float) {
    switch (sa, sb) {
    case (1, 1): for j in 0..<n { o[j] = f(a[j], b[j]) }
    case (1, 0): let bv = b[0]; for j in 0..<n { o[j] = f(a[j], bv) }
    case (0, 1): let av = a[0]; for j in 0..<n { o[j] = f(av, b[j]) }
    default: for j in 0..<n { o[j] = f(a[j * sa], b[j * sb]) }
    }
}

/// target += scale · (values summed down from shape `from` to `shape`), where `shape`
/// broadcasts to `from`: the adjoint of broadcasting. Sums are accumulated in Double; a row
/// that collapses to one value (the H·W of a per-channel mean) is first summed in Float with
/// SIMD partial sums, as the fused batch norm does (a Double chain of one dependent addition
/// at a time is slow enough to show in the from-scratch batch norm's training step).
func sumToShape(_ values: UnsafeBufferPointer<Float>, from: [Int], to shape: [Int],
                into target: UnsafeMutableBufferPointer<Float>, scale: Float = 1) {
    if from == shape {
        for i in 0..<target.count { target[i] += scale * values[i] }
        return
    }
    let plan = BroadcastPlan(out: from, stridesA: from.contiguousStrides, stridesB: broadcastStrides(shape, to: from))
    var acc = [Double](repeating: 0, count: target.count)
    acc.withUnsafeMutableBufferPointer { acc in
        let n = plan.inner, st = plan.innerB, src = values.baseAddress!
        plan.forEachRow { o, _, it in
            if st == 0 {
                acc[it] += Double(SIMDLoops.sum(src + o, n))
            } else {
                for j in 0..<n { acc[it + j * st] += Double(src[o + j]) }
            }
        }
        for i in 0..<target.count { target[i] += scale * Float(acc[i]) }
    }
}
