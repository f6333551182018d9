import Foundation

/// Element-wise functions with gradients. Backward multiplies the upstream gradient by f′,
/// written in terms of the input x or the output y = f(x), whichever the op saves.
enum UnaryKind { case sqrt, exp, log, square, sigmoid }

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
            case .sigmoid: SIMDLoops.sigmoid(px.baseAddress! + r.lowerBound, r.count, into: po.baseAddress! + r.lowerBound)
            }
        }
    }
    initialized = x.count
    }
    // Each derivative is written in terms of whichever of x and y it needs, and only that
    // one is saved.
    let usesInput = kind == .log || kind == .square
    let gx = x.gradTarget
    return Tensor.result(shape: x.shape, data: out, inputs: [x], saving: [usesInput ? x.keptForBackward : .stored(out)]) { node in
        // g ← g·f′, in the output gradient's own buffer, which then becomes ∂x.
        var g = node.takeGrad()
        node.savedValues(0).withUnsafeBufferPointer { p in g.withUnsafeMutableBufferPointer { g in
            Parallel.forRanges(g.count) { r in
                switch kind {
                case .sqrt: for i in r { g[i] = g[i] * 0.5 / p[i] }             // 1/(2√x) = 1/(2y)
                case .exp: for i in r { g[i] = g[i] * p[i] }                    // eˣ = y
                case .log: for i in r { g[i] = g[i] / p[i] }                    // 1/x
                case .square: for i in r { g[i] = g[i] * 2 * p[i] }             // 2x
                case .sigmoid:                                                   // σ(1 − σ) = y(1 − y)
                    SIMDLoops.sigmoidGradient(g.baseAddress! + r.lowerBound, output: p.baseAddress! + r.lowerBound, r.count)
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
    /// max(x, 0). Backward: ∂x = ∂y where x > 0, else 0 (also at 0, as PyTorch).
    ///
    /// Backward needs only where x was positive, so the op saves that as a bit mask, 1/32 of
    /// the output's size, rather than the output: a ReLU followed by pooling or dropout (whose
    /// backward does not read their input) then keeps almost nothing for backward, and one
    /// followed by a convolution adds 1/32 to what the convolution saves anyway.
    ///
    /// The method consumes the tensor: when the caller gives up its last reference (a layer's
    /// output passed straight on, `conv(x).relu()`), the output takes over the input's storage
    /// instead of allocating its own, as PyTorch's `ReLU(inplace=True)`. Values that an op
    /// saved for backward share that storage and are copied first (copy-on-write), so this is
    /// never observable. A caller that goes on using the tensor keeps it intact.
    /// A recipe for recomputing the input (`recompute`) is passed on, with max(·, 0) on top.
    public consuming func relu() -> Tensor {
        var input = consume self
        let n = input.count
        // Without a graph to record (evaluation, or no input needs a gradient) no mask is kept.
        let recording = Tensor.recordsGraph(for: [input])
        let dx = input.gradTarget, inputRecipe = input.recompute   // before the storage may be taken
        var mask = [UInt8](repeating: 0, count: recording ? (n + 7) / 8 : 0)
        var out: [Float]
        if isKnownUniquelyReferenced(&input) {
            out = input.data
            input.data = []
            out.withUnsafeMutableBufferPointer { po in mask.withUnsafeMutableBufferPointer { pm in
                reluPass(po.baseAddress!, n, into: po.baseAddress!, mask: recording ? pm.baseAddress! : nil)
            }}
        } else {
            out = Tensor.uninitializedStorage(n)
            input.data.withUnsafeBufferPointer { px in out.withUnsafeMutableBufferPointer { po in
            mask.withUnsafeMutableBufferPointer { pm in
                reluPass(px.baseAddress!, n, into: po.baseAddress!, mask: recording ? pm.baseAddress! : nil)
            }}}
        }
        let y = Tensor.result(shape: input.shape, data: out, inputs: [input], savingCodes: mask) { node in
            // ∂y masked in its own buffer, which then becomes ∂x.
            var g = node.takeGrad()
            node.savedCodes.withUnsafeBufferPointer { pm in g.withUnsafeMutableBufferPointer { pg in
                forMaskBytes(n) { first, count, byte in
                    SIMDLoops.mask(pg.baseAddress! + first, count, by: pm.baseAddress! + byte)
                }
            }}
            dx!.accumulateGrad(g)
        }
        if y.requiresGrad, let inputRecipe {
            y.recompute = {
                var values = inputRecipe()
                values.withUnsafeMutableBufferPointer { p in reluPass(p.baseAddress!, n, into: p.baseAddress!, mask: nil) }
                return values
            }
        }
        return y
    }
}

/// y = max(x, 0) for n values, split across the workers, with the "was positive" bits in
/// `mask` when given; `y` may be `x`.
func reluPass(_ x: UnsafePointer<Float>, _ n: Int, into y: UnsafeMutablePointer<Float>, mask: UnsafeMutablePointer<UInt8>?) {
    forMaskBytes(n) { first, count, byte in
        SIMDLoops.relu(x + first, count, into: y + first, mask: mask.map { $0 + byte })
    }
}

/// Splits n values over the workers on whole mask bytes (multiples of 8 values): `body` gets
/// each part's first value, its count and the index of its first mask byte. Nothing for n = 0.
private func forMaskBytes(_ n: Int, _ body: (_ first: Int, _ count: Int, _ byte: Int) -> Void) {
    guard n > 0 else { return }
    Parallel.forRanges((n + 7) / 8, minPerWorker: 4_096) { bytes in
        let first = bytes.lowerBound * 8
        body(first, Swift.min(n, bytes.upperBound * 8) - first, bytes.lowerBound)
    }
}
