/// A network's first layers on the image, convolution → ReLU → max pooling, as one op that
/// goes image by image:
///   y = maxPool(max(conv2d(x, W, b), 0))
/// with the values and gradients of the three ops in a row. The convolution's output is the
/// largest activation of VGG and AlexNet (VGG's first block: 16 × 224 × 224 values per image,
/// 411 MB for a batch of 128, and as much again for its gradient); here it exists for one
/// image per worker at a time, in scratch memory, and is pooled while it is in cache.
///
/// Shapes: x (N, 1, H, W), weight (K, 1, kh, kw), bias (K), y (N, K, PH, PW), where (PH, PW) is
/// the pooling's output on the convolution's (OH, OW).
///
/// Backward keeps what the three ops keep (x, each window's winning position, one bit per
/// output for "positive", which is ReLU's mask at the winner) and rebuilds each image's ∂conv
/// output from them: ∂pooled goes to its window's winner where the output is positive, as max
/// pooling's and ReLU's backward would send it; then ∂W += ∂Y · colᵀ and ∂b += Σ ∂Y, image by
/// image as the convolution's own backward does on such maps.
///
/// Only for inputs that take no gradient (the image itself): ∂x would need the whole ∂conv
/// output, which is what this op avoids. `Sequential` uses it for a Conv2d → ReLU → MaxPool2d
/// run that `applies` to, and the three layers one by one otherwise.
enum ConvolutionReLUMaxPool {
    /// Whether the fused op computes these layers for an input of `inputShape` (N, C, H, W):
    /// one input channel that takes no gradient, no groups, every kernel tap live, windows that
    /// fit the convolution's output and hold at most `maxPoolLargestWindow` positions.
    static func applies(inputShape s: [Int], inputTakesGradient: Bool, kernel: (Int, Int),
                        _ conv: Conv2dConfig, _ pool: PoolConfig) -> Bool {
        guard s.count == 4, s[1] == 1, !inputTakesGradient, conv.groups == 1,
              pool.kernel.0 * pool.kernel.1 <= maxPoolLargestWindow else { return false }
        let g = ConvGeometry(channels: 1, height: s[2], width: s[3], kernel: kernel, stride: conv.stride, padding: conv.padding)
        guard g.outH > 0, g.outW > 0, !g.isCompact else { return false }
        return g.outH + 2 * pool.padding.0 >= pool.kernel.0 && g.outW + 2 * pool.padding.1 >= pool.kernel.1
    }
}

/// `maxPool2d(conv2d(x, weight: weight, bias: bias, conv).relu(), pool)`, one image per worker
/// at a time (see `ConvolutionReLUMaxPool`); `ConvolutionReLUMaxPool.applies` must hold.
public func conv2dReLUMaxPool(_ x: Tensor, weight: Tensor, bias: Tensor?, _ conv: Conv2dConfig, _ pool: PoolConfig) -> Tensor {
    let kernel = (weight.shape[2], weight.shape[3])
    precondition(ConvolutionReLUMaxPool.applies(inputShape: x.shape, inputTakesGradient: x.requiresGrad, kernel: kernel, conv, pool)
                 && weight.shape[1] == 1, "conv2dReLUMaxPool: x \(x.shape.shapeDescription), weight \(weight.shape.shapeDescription)")
    let n = x.shape[0], k = weight.shape[0]
    let g = ConvGeometry(channels: 1, height: x.shape[2], width: x.shape[3], kernel: kernel, stride: conv.stride, padding: conv.padding)
    let p = g.outPixels, (oh, ow) = pool.outSize(g.outH, g.outW), q = oh * ow
    let patch = g.patchSize, imageSize = g.height * g.width
    let workers = Parallel.ranges(n, parts: Parallel.threads)
    var inputs = [x, weight]
    if let bias { inputs.append(bias) }
    let recording = Tensor.recordsGraph(for: inputs)

    // The direct kernel where it applies, im2col and one GEMM per image otherwise.
    let direct = SingleChannelConvolution.applies(g, groups: 1) ? SingleChannelConvolution(geometry: g, outChannels: k) : nil
    let packed = direct?.packed(weights: weight.data, bias: bias?.data)
    let scratch = Workspace.buffers(workers: workers.count, sizes: [k * p, direct?.scratchCount ?? patch * p])
    var y = Tensor.uninitializedStorage(n * k * q)   // every window writes its maximum
    // Kept for backward: each window's winning position (a byte per output, as max pooling
    // keeps), then one bit per output for "positive" (written below).
    let positiveAt = y.count
    var codes = [UInt8](unsafeUninitializedCapacity: recording ? y.count + (y.count + 7) / 8 : 0) { _, initialized in
        initialized = recording ? y.count + (y.count + 7) / 8 : 0
    }
    x.data.withUnsafeBufferPointer { px in weight.data.withUnsafeBufferPointer { pw in
    y.withUnsafeMutableBufferPointer { py in codes.withUnsafeMutableBufferPointer { pwin in
        let xs = px.baseAddress!, ys = py.baseAddress!
        let bs: [Float]? = bias?.data
        Parallel.run(workers.count) { worker in
            let out = scratch[worker][0], work = scratch[worker][1]
            for image in workers[worker] {
                let xImage = xs + image * imageSize
                if let direct, let packed {
                    packed.weights.withUnsafeBufferPointer { w in packed.bias.withUnsafeBufferPointer { b in
                        direct.forward(image: xImage, weights: w.baseAddress!, bias: b.baseAddress!, into: out, scratch: work)
                    }}
                } else {
                    im2col(xImage, images: 1, g, into: work)
                    if let bs { for kk in 0..<k { SIMDLoops.fill(out + kk * p, p, with: bs[kk]) } }
                    sgemm(m: k, n: p, k: patch, a: pw.baseAddress!, lda: patch, b: work, ldb: p,
                          beta: bs == nil ? 0 : 1, c: out, ldc: p)
                }
                SIMDLoops.relu(out, k * p, into: out, mask: nil)
                for kk in 0..<k {
                    let plane = image * k + kk
                    maxPoolPlane(out + kk * p, height: g.outH, width: g.outW, pool, into: ys + plane * q,
                                 codes: recording ? pwin.baseAddress! + plane * q : nil)
                }
            }
        }
    }}}}
    guard recording else { return Tensor(shape: [n, k, oh, ow], data: y) }
    // ReLU's mask at each window's winner: whether the (pooled) output is positive, as ReLU
    // writes it (the outputs are ReLU's already, so they pass through unchanged).
    y.withUnsafeMutableBufferPointer { py in codes.withUnsafeMutableBufferPointer { pc in
        reluPass(py.baseAddress!, py.count, into: py.baseAddress!, mask: pc.baseAddress! + positiveAt)
    }}

    let (dWeight, dBias) = (weight.gradTarget, bias?.gradTarget)
    return Tensor.result(shape: [n, k, oh, ow], data: y, inputs: inputs, saving: [x.keptForBackward],
                         savingCodes: codes) { node in
        let dPooled = node.grad!
        let x = node.savedValues(0)
        let scratch = Workspace.buffers(workers: workers.count, sizes: [k * p, patch * p, k * patch, k])
        // Window position → offset from the window's corner in the convolution's output plane.
        let offsets = (0..<(pool.kernel.0 * pool.kernel.1)).map { ($0 / pool.kernel.1) * g.outW + $0 % pool.kernel.1 }
        x.withUnsafeBufferPointer { px in dPooled.withUnsafeBufferPointer { pg in node.savedCodes.withUnsafeBufferPointer { codes in
            Parallel.run(workers.count) { worker in
                let dy = scratch[worker][0], col = scratch[worker][1], dw = scratch[worker][2], db = scratch[worker][3]
                dw.update(repeating: 0, count: k * patch); db.update(repeating: 0, count: k)
                for image in workers[worker] {
                    dy.update(repeating: 0, count: k * p)
                    for kk in 0..<k {
                        let plane = image * k + kk, dst = dy + kk * p
                        for oy in 0..<oh {
                            let top = oy * pool.stride.0 - pool.padding.0
                            for ox in 0..<ow {
                                let o = plane * q + oy * ow + ox
                                guard codes[positiveAt + (o >> 3)] & (1 << UInt8(o & 7)) != 0 else { continue }
                                dst[top * g.outW + ox * pool.stride.1 - pool.padding.1 + offsets[Int(codes[o])]] += pg[o]
                            }
                        }
                        if dBias != nil { db[kk] += SIMDLoops.sum(dst, p) }
                    }
                    if dWeight != nil {
                        im2col(px.baseAddress! + image * imageSize, images: 1, g, into: col)
                        sgemm(transB: true, m: k, n: patch, k: p, a: dy, lda: p, b: col, ldb: p, beta: 1, c: dw, ldc: patch)
                    }
                }
            }
        }}}
        if let dWeight { addWorkerPartials(scratch, slot: 2, count: k * patch, into: dWeight) }
        if let dBias { addWorkerPartials(scratch, slot: 3, count: k, into: dBias) }
    }
}
