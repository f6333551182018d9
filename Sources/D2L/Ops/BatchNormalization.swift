/// Fused batch normalisation over (N, C) or (N, C, H, W), forward and backward.
///
/// Training mode, per channel c over its m = N·H·W values:
///   μ = mean(x),  σ² = mean((x − μ)²)  (biased, used to normalise),
///   x̂ = (x − μ)/√(σ² + ε),  y = γ·x̂ + β,
///   running_mean ← (1 − momentum)·running_mean + momentum·μ,
///   running_var  ← (1 − momentum)·running_var  + momentum·σ²·m/(m − 1)   (unbiased, as PyTorch).
/// Backward (training): ∂β = Σ∂y, ∂γ = Σ∂y·x̂,
///   ∂x = γ/(m·√(σ²+ε)) · (m·∂y − Σ∂y − x̂·Σ∂y·x̂).
/// Eval mode normalises with the running statistics instead; then ∂x = γ·∂y/√(running_var + ε).
///
/// With `relu`, the output is max(y, 0): the ReLU that follows batch norm in ResNet, DenseNet
/// and RegNet, in the same pass over the values, and in backward ∂y counts only where y > 0,
/// inside batch norm's own two passes (y recomputed from the kept x, so no mask is stored).
/// Bit for bit the same values and gradients as `batchNorm(…).relu()`, one pass fewer each way.
///
/// The output records how to compute it again (`Tensor.recompute`) from the input that its
/// backward keeps anyway: y = scale·x + shift per channel, bit for bit as in the forward pass.
public struct BatchNormState {
    public let runningMean: Tensor
    public let runningVar: Tensor
    public let momentum: Float
    public let eps: Float
    public init(runningMean: Tensor, runningVar: Tensor, momentum: Float = 0.1, eps: Float = 1e-5) {
        self.runningMean = runningMean; self.runningVar = runningVar; self.momentum = momentum; self.eps = eps
    }
}

public func batchNorm(_ x: Tensor, gamma: Tensor, beta: Tensor, state: BatchNormState, training: Bool,
                      relu: Bool = false) -> Tensor {
    precondition(x.rank == 2 || x.rank == 4, "batchNorm: needs (N, C) or (N, C, H, W), got \(x.shape.shapeDescription)")
    let n = x.shape[0], c = x.shape[1], hw = x.rank == 4 ? x.shape[2] * x.shape[3] : 1
    let m = n * hw
    precondition(!training || m > 1, "batchNorm: training needs more than one value per channel, got \(x.shape.shapeDescription)")
    var mean = [Float](repeating: 0, count: c), rstd = [Float](repeating: 0, count: c)
    // y = scale·x + shift per channel: scale = γ·rstd, shift = β − μ·scale.
    var scales = [Float](repeating: 0, count: c), shifts = [Float](repeating: 0, count: c)
    var y = Tensor.uninitializedStorage(x.count)   // every channel's affine writes all of its values
    let channelsPerWorker = Swift.max(1, 65_536 / Swift.max(m, 1))

    x.data.withUnsafeBufferPointer { px in y.withUnsafeMutableBufferPointer { py in
    gamma.data.withUnsafeBufferPointer { pg in beta.data.withUnsafeBufferPointer { pb in
    mean.withUnsafeMutableBufferPointer { pm in rstd.withUnsafeMutableBufferPointer { pr in
    scales.withUnsafeMutableBufferPointer { ps in shifts.withUnsafeMutableBufferPointer { pt in
    state.runningMean.data.withUnsafeMutableBufferPointer { rm in state.runningVar.data.withUnsafeMutableBufferPointer { rv in
        Parallel.forRanges(c, minPerWorker: channelsPerWorker) { channels in
            for ch in channels {
                if training {
                    // Each (n, c) row is summed in Float with SIMD partial sums, the rows in Double.
                    var s = 0.0
                    for i in 0..<n { s += Double(SIMDLoops.sum(px.baseAddress! + (i * c + ch) * hw, hw)) }
                    let mu = s / Double(m)
                    let muF = Float(mu)
                    var v = 0.0
                    for i in 0..<n {
                        v += Double(SIMDLoops.sumOfSquaredDeviations(px.baseAddress! + (i * c + ch) * hw, hw, from: muF))
                    }
                    let variance = v / Double(m)
                    pm[ch] = Float(mu)
                    pr[ch] = Float(1 / (variance + Double(state.eps)).squareRoot())
                    rm[ch] = (1 - state.momentum) * rm[ch] + state.momentum * Float(mu)
                    rv[ch] = (1 - state.momentum) * rv[ch] + state.momentum * Float(variance * Double(m) / Double(m - 1))
                } else {
                    pm[ch] = rm[ch]
                    pr[ch] = 1 / (rv[ch] + state.eps).squareRoot()
                }
                ps[ch] = pg[ch] * pr[ch]
                pt[ch] = pb[ch] - pm[ch] * ps[ch]
                affineChannels(px.baseAddress!, into: py.baseAddress!, channels: ch..<(ch + 1), batch: n, channelCount: c,
                               valuesPerRow: hw, scales: ps.baseAddress!, shifts: pt.baseAddress!, relu: relu)
            }
        }
    }}}}}}}}}}

    let (gx, gGamma, gBeta) = (x.gradTarget, gamma.gradTarget, beta.gradTarget)
    let out = Tensor.result(shape: x.shape, data: y, inputs: [x, gamma, beta], saving: [x.keptForBackward]) { node in
        var dy = node.takeGrad()
        let xs = node.savedValues(0)
        var dgamma = [Float](repeating: 0, count: c), dbeta = [Float](repeating: 0, count: c)
        /// Reads ∂y at `pdy`; writes ∂x at `dx` (adding when `accumulate`), which may be `pdy`:
        /// a channel's sums are complete before its ∂x is written.
        func body(_ pdy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>?, accumulate: Bool) {
            xs.withUnsafeBufferPointer { px in
            dgamma.withUnsafeMutableBufferPointer { dg in dbeta.withUnsafeMutableBufferPointer { db in
                Parallel.forRanges(c, minPerWorker: channelsPerWorker) { channels in
                    for ch in channels {
                        let mu = mean[ch], r = rstd[ch]
                        let gate = relu ? SIMDLoops.ReLUGate(scale: scales[ch], shift: shifts[ch]) : nil
                        var sumDy = 0.0, sumDyXhat = 0.0
                        for i in 0..<n {
                            let base = (i * c + ch) * hw
                            let (rowDy, rowDyCentered) = SIMDLoops.sumAndCenteredDot(
                                pdy + base, px.baseAddress! + base, hw, mean: mu, gate: gate)
                            sumDy += Double(rowDy); sumDyXhat += Double(rowDyCentered * r)
                        }
                        dg[ch] = Float(sumDyXhat); db[ch] = Float(sumDy)
                        guard let dx else { continue }
                        let gr = gamma.data[ch] * r
                        // Training: ∂x = γ·r·(∂y − mean ∂y − x̂·mean(∂y·x̂)); evaluation: γ·r·∂y.
                        let a = training ? Float(sumDy / Double(m)) : 0, b = training ? Float(sumDyXhat / Double(m)) : 0
                        for i in 0..<n {
                            let base = (i * c + ch) * hw
                            SIMDLoops.batchNormGradient(into: dx + base, pdy + base, px.baseAddress! + base, hw,
                                                        mean: mu, rstd: r, scale: gr, a: a, b: b, gate: gate,
                                                        accumulate: accumulate)
                        }
                    }
                }
            }}}
        }
        if let gx, gx.grad == nil {
            // ∂x overwrites ∂y in its own buffer, which then becomes x's gradient.
            dy.withUnsafeMutableBufferPointer { p in body(p.baseAddress!, p.baseAddress!, accumulate: false) }
            gx.accumulateGrad(dy)
        } else if let gx {
            dy.withUnsafeBufferPointer { p in gx.withGradBuffer { body(p.baseAddress!, $0.baseAddress!, accumulate: true) } }
        } else {
            dy.withUnsafeBufferPointer { body($0.baseAddress!, nil, accumulate: false) }
        }
        gGamma?.accumulateGrad(dgamma)
        gBeta?.accumulateGrad(dbeta)
    }
    if out.requiresGrad {
        let node = out.node
        out.recompute = {
            let xs = node.savedValues(0)
            var again = Tensor.uninitializedStorage(xs.count)
            xs.withUnsafeBufferPointer { px in again.withUnsafeMutableBufferPointer { py in
            scales.withUnsafeBufferPointer { ps in shifts.withUnsafeBufferPointer { pt in
                Parallel.forRanges(c, minPerWorker: channelsPerWorker) { channels in
                    affineChannels(px.baseAddress!, into: py.baseAddress!, channels: channels, batch: n, channelCount: c,
                                   valuesPerRow: hw, scales: ps.baseAddress!, shifts: pt.baseAddress!, relu: relu)
                }
            }}}}
            return again
        }
    }
    return out
}
