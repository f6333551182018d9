/// 2-D convolution (cross-correlation, as PyTorch) with stride, zero padding and groups,
/// as im2col + one `sgemm` per group per chunk of images (a one-channel stride-1 layer's forward
/// through a direct kernel, `SingleChannelConvolution`), and its hand-written backward.
///
/// Shapes: x (N, C, H, W), weight (K, C/groups, kh, kw), bias (K), y (N, K, OH, OW),
/// OH = ⌊(H + 2·ph − kh)/sh⌋ + 1.
///   y[n,k] = bias[k] + Σ_{c in group(k), i, j} weight[k, c, i, j] · x[n, c, oy·sh−ph+i, ox·sw−pw+j]
/// Each worker takes a contiguous range of images and processes it in chunks of G images,
/// lowering a chunk to a (C·kh·kw) × (G·OH·OW) column matrix, so that small feature maps still
/// give wide GEMMs. A 1×1 stride-1 convolution with G = 1 multiplies x[n] directly.
/// Backward recomputes the columns (cheaper than keeping them) and computes
///   ∂W += ∂Y_chunk · colᵀ,   ∂col = Wᵀ · ∂Y_chunk → col2im → ∂x,   ∂b += Σ ∂Y.
/// On maps so small that some kernel taps only ever read padding, W is first gathered to the
/// live taps (`ConvGeometry.taps`) and ∂W is scattered back; the skipped products are zeros.
public struct Conv2dConfig: Equatable, Sendable {
    public var stride: (Int, Int)
    public var padding: (Int, Int)
    public var groups: Int
    public init(stride: (Int, Int) = (1, 1), padding: (Int, Int) = (0, 0), groups: Int = 1) {
        self.stride = stride; self.padding = padding; self.groups = groups
    }
    public static func == (a: Self, b: Self) -> Bool {
        a.stride == b.stride && a.padding == b.padding && a.groups == b.groups
    }
}

/// Columns one GEMM should see at least (chunks of G images reach this when maps are small).
private let targetColumns = 1024
/// The same for narrow layers (`ChunkPlan.isNarrow`): their GEMMs do little arithmetic per
/// column, and chunks this wide measured faster (BN-LeNet's second layer; OpenBLAS then takes
/// its unpacked small-matrix kernels where the CPU has them).
private let narrowTargetColumns = 256
/// Output pixels from which the images of a chunk get GEMMs of their own (`ChunkPlan.gemmsPerImage`).
private let perImageColumns = 128

/// Where the GEMMs of one chunk find the (K, ·) rows of y or ∂Y: `parts` GEMMs of `columns`
/// columns each, part j's row r at `base + j·partStride + r·rowStride`, reading or writing
/// columns j·`columns` ..< (j+1)·`columns` of the chunk's column matrix. Straight: y[n] or ∂Y[n]
/// where they are (a part per image, rows of P); otherwise a (K, G·P) block (one part).
private struct ChunkRows {
    let base: UnsafeMutablePointer<Float>
    let parts: Int, columns: Int, partStride: Int, rowStride: Int

    init(straight: Bool, images: Int, _ plan: ChunkPlan, at start: UnsafeMutablePointer<Float>, block: UnsafeMutablePointer<Float>) {
        let p = plan.geometry.outPixels
        if straight {
            base = start; parts = images; columns = p; partStride = plan.outChannels * p; rowStride = p
        } else {
            base = block; parts = 1; columns = images * p; partStride = 0; rowStride = images * p
        }
    }
    /// Row `row` (an output channel) of part `part`.
    func row(_ row: Int, part: Int) -> UnsafeMutablePointer<Float> { base + part * partStride + row * rowStride }
}

/// Pointers of a chunk's buffers: column matrix and the (K, G·P) output / gradient block.
private struct ChunkPlan {
    let geometry: ConvGeometry
    let outChannels: Int, groups: Int
    let imagesPerChunk: Int

    var kPerGroup: Int { outChannels / groups }
    /// At most 32 output channels per group: GEMMs of few rows (BN-LeNet's second layer,
    /// RegNet's stem and strided grouped layers, GoogLeNet's narrow 1×1 branches).
    var isNarrow: Bool { Self.isNarrow(kPerGroup: kPerGroup) }
    static func isNarrow(kPerGroup: Int) -> Bool { kPerGroup <= 32 }
    var patchPerGroup: Int { geometry.patchSize / groups }
    /// Values of the weight matrix the GEMMs use: K × (C/groups · live taps).
    var weightCount: Int { outChannels * patchPerGroup }
    var colSize: Int { geometry.patchSize * imagesPerChunk * geometry.outPixels }
    var blockSize: Int { outChannels * imagesPerChunk * geometry.outPixels }
    /// Whether backward computes each group's ∂W transposed, ∂Wᵀ (C/G·T × K/G) = col · ∂Yᵀ:
    /// with few output channels per group (BN-LeNet's 16, RegNet's stem and strided grouped
    /// layers) OpenBLAS runs that orientation clearly faster, as it packs the column matrix
    /// more cheaply; with more, the two come out alike within the machine's noise, and the
    /// transposed sums would cost one more strided pass.
    var transposedWeightGradient: Bool { isNarrow }
    /// x[n] can serve as the column matrix directly.
    var direct: Bool { geometry.isPointwise && imagesPerChunk == 1 }
    /// Whether each image of a chunk of `images` gets its own GEMMs, reading and writing its
    /// (K, P) rows of y or ∂Y where they are, instead of one GEMM over a (K, G·P) block copied
    /// out of them and back. On maps of `perImageColumns` or more pixels the narrower GEMMs cost
    /// less than the copies (RegNet's 24×24 and 12×12 stages); on smaller ones they run too
    /// slowly (ResNet's and GoogLeNet's 6×6 and 3×3 maps). A chunk of one image is its block.
    func gemmsPerImage(images: Int) -> Bool { images == 1 || geometry.outPixels >= perImageColumns }

    init(_ g: ConvGeometry, outChannels: Int, groups: Int, imagesPerWorker: Int) {
        geometry = g; self.outChannels = outChannels; self.groups = groups
        // A 1×1 convolution on a map of at least half the target width goes image by image,
        // straight from x[n] into y[n]: its GEMMs are wide enough, and the gather of the inputs
        // and the copy of the outputs that chunking needs are gone (DenseNet's, GoogLeNet's and
        // RegNet's 1×1 layers at 24×24 are such).
        let columns = Self.isNarrow(kPerGroup: outChannels / groups) ? narrowTargetColumns : targetColumns
        imagesPerChunk = g.isPointwise && g.outPixels >= targetColumns / 2 ? 1
            : Swift.max(1, Swift.min(imagesPerWorker, (columns + g.outPixels - 1) / g.outPixels))
    }
}

public func conv2d(_ x: Tensor, weight: Tensor, bias: Tensor?, _ config: Conv2dConfig) -> Tensor {
    let y = convolve(x, weight: weight, bias: bias, config)
    // A convolution of a one-channel input (every chapter's first layer, on the image) costs
    // kh·kw multiply-adds per output, so its output is cheap to compute again and large to
    // keep: what reads it in backward (batch norm in ResNet, DenseNet and RegNet, NiN's next
    // 1×1 convolution, through ReLU) keeps this recipe instead of the values. It reads the
    // input this convolution keeps anyway and the weights, which `SGD.backwardAndStep` changes
    // only after this layer's own backward, so the values come out bit for bit as in forward.
    // Outputs under `OneChannelRecompute.fromBytes` are kept: their memory is small next to
    // the network's, and computing them again would be a visible share of a small network's
    // step (BN-LeNet's first layer: 3.5 MB at batch 256).
    if y.requiresGrad && x.shape[1] == 1 && y.count * MemoryLayout<Float>.stride >= OneChannelRecompute.fromBytes {
        let input = x.keptForBackward, shape = x.shape
        y.recompute = {
            let again = Tensor(shape: shape, data: input.values)
            return GradMode.withoutGrad { convolve(again, weight: weight, bias: bias, config).data }
        }
    }
    return y
}

/// From which size a one-channel convolution's output is recomputed in backward instead of kept.
enum OneChannelRecompute {
    /// 16 MiB: RegNet's, ResNet's, DenseNet's, GoogLeNet's and NiN's first layers at the book's
    /// batch sizes (38–151 MB) are recomputed, BN-LeNet's and LeNet's (under 4 MB) kept.
    nonisolated(unsafe) static var fromBytes = 16 << 20
}

/// The convolution itself: Winograd, the direct kernels for grouped 3×3 layers and for
/// one-channel images, or im2col (or x[n] directly) and sgemm.
private func convolve(_ x: Tensor, weight: Tensor, bias: Tensor?, _ config: Conv2dConfig) -> Tensor {
    precondition(x.rank == 4 && weight.rank == 4, "conv2d: x \(x.shape.shapeDescription), weight \(weight.shape.shapeDescription)")
    let n = x.shape[0], k = weight.shape[0], groups = config.groups
    let g = ConvGeometry(channels: x.shape[1], height: x.shape[2], width: x.shape[3],
                         kernel: (weight.shape[2], weight.shape[3]), stride: config.stride, padding: config.padding)
    precondition(x.shape[1] == weight.shape[1] * groups && k % groups == 0, "conv2d: channels do not fit groups")
    precondition(g.outH > 0 && g.outW > 0, "conv2d: kernel larger than padded input")
    let p = g.outPixels
    let workers = Parallel.ranges(n, parts: Parallel.threads)
    let imagesPerWorker = workers.map(\.count).max() ?? 1
    if let winograd = WinogradPlan.choose(g, outChannels: k, groups: groups, imagesPerWorker: imagesPerWorker) {
        return winogradConv2d(x, weight: weight, bias: bias, plan: winograd, workers: workers)
    }
    if DirectGroupedConvolution.applies(g, outChannels: k, groups: groups) {
        return directGroupedConv2d(x, weight: weight, bias: bias, g, groups: groups, workers: workers)
    }
    let plan = ChunkPlan(g, outChannels: k, groups: groups, imagesPerWorker: imagesPerWorker)
    var y = Tensor.uninitializedStorage(n * k * p)   // every output is written by a GEMM or a copy

    let gemmWeight = liveTapWeights(weight, g)
    let singleChannel = SingleChannelConvolution.applies(g, groups: groups)
    if singleChannel {
        convolveSingleChannel(x, weight: weight, bias: bias, g, into: &y, workers: workers)
    } else {
        convolveLowered(x, gemmWeight: gemmWeight, bias: bias, plan: plan, into: &y, workers: workers)
    }

    return convolutionResult(shape: [n, k, g.outH, g.outW], data: y, x: x, weight: weight, bias: bias) { xs, dys, dxs, inPlace, dWeight, dBias in
        if singleChannel && dxs == nil {
            singleChannelWeightGradient(x: xs, dy: dys, g, outChannels: k, dWeight: dWeight, dBias: dBias, workers: workers)
        } else {
            conv2dBackward(x: xs, dxStore: dxs, gemmWeight: gemmWeight, dWeight: dWeight, dBias: dBias,
                           dy: dys, dxOverwritesDy: inPlace, plan: plan, workers: workers)
        }
    }
}

/// y through im2col (or x[n] directly) and one sgemm per group per chunk of images, each
/// worker its own images.
private func convolveLowered(_ x: Tensor, gemmWeight: [Float], bias: Tensor?, plan: ChunkPlan,
                             into y: inout [Float], workers: [Range<Int>]) {
    let g = plan.geometry, k = plan.outChannels, groups = plan.groups, p = g.outPixels
    let scratch = Workspace.buffers(workers: workers.count, sizes: [plan.direct ? 1 : plan.colSize, plan.blockSize])
    x.data.withUnsafeBufferPointer { px in gemmWeight.withUnsafeBufferPointer { pw in
    y.withUnsafeMutableBufferPointer { py in
        let xs = px.baseAddress!, ws = pw.baseAddress!, ys = py.baseAddress!
        let bs: [Float]? = bias?.data
        Parallel.run(workers.count) { w in
            let col = scratch[w][0], block = scratch[w][1]
            var n0 = workers[w].lowerBound
            while n0 < workers[w].upperBound {
                let imgs = Swift.min(plan.imagesPerChunk, workers[w].upperBound - n0)
                let cols = imgs * p
                let xChunk = xs + n0 * g.channels * g.height * g.width
                let colPtr: UnsafePointer<Float>
                if plan.direct { colPtr = UnsafePointer(xChunk) } else {
                    im2col(xChunk, images: imgs, g, into: col); colPtr = UnsafePointer(col)
                }
                // Straight into y[n] (image by image), or through the block for small maps.
                let straight = plan.gemmsPerImage(images: imgs)
                let rows = ChunkRows(straight: straight, images: imgs, plan, at: ys + n0 * k * p, block: block)
                // With a bias, C starts as the bias and the GEMMs add onto it (β = 1): OpenBLAS
                // then skips its pass that zeroes C, and no second pass adds the bias.
                if let bs {
                    for part in 0..<rows.parts { for kk in 0..<k { SIMDLoops.fill(rows.row(kk, part: part), rows.columns, with: bs[kk]) } }
                }
                for part in 0..<rows.parts {
                    for gi in 0..<groups {
                        sgemm(m: plan.kPerGroup, n: rows.columns, k: plan.patchPerGroup,
                              a: ws + gi * plan.kPerGroup * plan.patchPerGroup, lda: plan.patchPerGroup,
                              b: colPtr + gi * plan.patchPerGroup * cols + part * rows.columns, ldb: cols,
                              beta: bs == nil ? 0 : 1, c: rows.row(gi * plan.kPerGroup, part: part), ldc: rows.rowStride)
                    }
                }
                if !straight {
                    for img in 0..<imgs {
                        for kk in 0..<k { SIMDLoops.copy(ys + ((n0 + img) * k + kk) * p, block + kk * cols + img * p, p) }
                    }
                }
                n0 += imgs
            }
        }
    }}}
}

/// y for one-channel images through `SingleChannelConvolution`, each worker its own images.
private func convolveSingleChannel(_ x: Tensor, weight: Tensor, bias: Tensor?, _ g: ConvGeometry,
                                   into y: inout [Float], workers: [Range<Int>]) {
    let direct = SingleChannelConvolution(geometry: g, outChannels: weight.shape[0])
    let (w, b) = direct.packed(weights: weight.data, bias: bias?.data)
    let scratch = Workspace.buffers(workers: workers.count, sizes: [direct.scratchCount])
    let imageSize = g.height * g.width, outSize = direct.outChannels * g.outPixels
    x.data.withUnsafeBufferPointer { px in w.withUnsafeBufferPointer { pw in b.withUnsafeBufferPointer { pb in
    y.withUnsafeMutableBufferPointer { py in
        let xs = px.baseAddress!, ws = pw.baseAddress!, bs = pb.baseAddress!, ys = py.baseAddress!
        Parallel.run(workers.count) { worker in
            for n in workers[worker] {
                direct.forward(image: xs + n * imageSize, weights: ws, bias: bs, into: ys + n * outSize, scratch: scratch[worker][0])
            }
        }
    }}}}
}

/// ∂W and ∂b of a one-channel convolution whose input takes no gradient (a network's first
/// layer) through `SingleChannelConvolution.weightGradient`, image by image, without a column
/// matrix; the workers' partial sums are added in worker order.
private func singleChannelWeightGradient(x: [Float], dy: UnsafePointer<Float>, _ g: ConvGeometry, outChannels k: Int,
                                         dWeight: GradNode?, dBias: GradNode?, workers: [Range<Int>]) {
    guard dWeight != nil || dBias != nil else { return }
    let direct = SingleChannelConvolution(geometry: g, outChannels: k)
    let taps = g.kernelH * g.kernelW, imageSize = g.height * g.width, outSize = k * g.outPixels
    // Per worker: the padded image, the flattened ∂y planes, partial ∂W and ∂b.
    let scratch = Workspace.buffers(workers: workers.count,
                                    sizes: [direct.scratchCount, direct.gradientScratchCount, k * taps, k])
    x.withUnsafeBufferPointer { px in
        let xs = px.baseAddress!
        Parallel.run(workers.count) { w in
            let plane = scratch[w][0], flat = scratch[w][1], dw = scratch[w][2], db = scratch[w][3]
            SIMDLoops.zero(flat, direct.gradientScratchCount)
            SIMDLoops.zero(dw, k * taps); SIMDLoops.zero(db, k)
            for image in workers[w] {
                direct.weightGradient(image: xs + image * imageSize, dy: dy + image * outSize, into: dw,
                                      biasInto: db, scratch: plane, gradient: flat)
            }
        }
    }
    if let dWeight { addWorkerPartials(scratch, slot: 2, count: k * taps, into: dWeight) }
    if let dBias { addWorkerPartials(scratch, slot: 3, count: k, into: dBias) }
}

/// A convolution's output (N, K, OH, OW) recorded in the graph, keeping x for backward, which
/// runs `backward(x, ∂y, ∂x, inPlace, ∂W node, ∂b node)` with the buffers `withGradientBuffers`
/// chooses (∂x nil when x takes no gradient).
func convolutionResult(shape: [Int], data: [Float], x: Tensor, weight: Tensor, bias: Tensor?,
                       backward: @escaping (_ x: [Float], _ dy: UnsafePointer<Float>, _ dx: UnsafeMutablePointer<Float>?,
                                            _ inPlace: Bool, _ dWeight: GradNode?, _ dBias: GradNode?) -> Void) -> Tensor {
    var inputs = [x, weight]
    if let bias { inputs.append(bias) }
    let (dx, dWeight, dBias) = (x.gradTarget, weight.gradTarget, bias?.gradTarget)
    return Tensor.result(shape: shape, data: data, inputs: inputs, saving: [x.keptForBackward]) { node in
        var dy = node.takeGrad()
        withGradientBuffers(dy: &dy, dx: dx) { dys, dxs, inPlace in
            backward(node.savedValues(0), dys, dxs, inPlace, dWeight, dBias)
        }
    }
}

/// Runs a convolution's backward `body(∂y, ∂x, inPlace)` with the buffer ∂x goes to: nil if x
/// takes no gradient; ∂y's own buffer when ∂x has the same size and starts from nothing
/// (`inPlace`: the kernel overwrites each chunk's ∂y once it has read it, and the buffer then
/// becomes x's gradient, so no second activation-sized buffer is allocated: NiN's 1×1 and
/// ResNet's 3×3 layers); otherwise x's gradient buffer, added into.
func withGradientBuffers(dy: inout [Float], dx: GradNode?,
                         _ body: (UnsafePointer<Float>, UnsafeMutablePointer<Float>?, Bool) -> Void) {
    guard let dx else { return dy.withUnsafeBufferPointer { body($0.baseAddress!, nil, false) } }
    if dx.grad == nil && dy.count == dx.count {
        dy.withUnsafeMutableBufferPointer { body(UnsafePointer($0.baseAddress!), $0.baseAddress!, true) }
        dx.accumulateGrad(dy)
    } else {
        dy.withUnsafeBufferPointer { pdy in dx.withGradBuffer { body(pdy.baseAddress!, $0.baseAddress!, false) } }
    }
}

/// The weights as the GEMMs see them: (K, C/groups · T) for the live taps. The weight tensor
/// itself when every tap is live.
private func liveTapWeights(_ weight: Tensor, _ g: ConvGeometry) -> [Float] {
    guard g.isCompact else { return weight.data }
    let taps = g.taps, full = g.kernelH * g.kernelW, rows = weight.shape[0] * weight.shape[1]
    var out = [Float](repeating: 0, count: rows * taps.count)
    for r in 0..<rows { for (t, tap) in taps.enumerated() { out[r * taps.count + t] = weight.data[r * full + tap] } }
    return out
}

/// Accumulates ∂W and ∂b (into whichever of `dWeight`, `dBias` is not nil) and ∂x (into
/// `dxStore` if not nil) from ∂Y. With `dxOverwritesDy`, `dxStore` is ∂Y's buffer: each chunk's
/// ∂Y is read in full before its ∂x is written there.
private func conv2dBackward(x: [Float], dxStore: UnsafeMutablePointer<Float>?, gemmWeight: [Float], dWeight: GradNode?,
                            dBias: GradNode?, dy dys: UnsafePointer<Float>, dxOverwritesDy inPlace: Bool,
                            plan: ChunkPlan, workers: [Range<Int>]) {
    let g = plan.geometry, k = plan.outChannels, p = g.outPixels, groups = plan.groups
    let wCount = plan.weightCount
    let needW = dWeight != nil, needB = dBias != nil
    // Per worker: column matrix, gathered ∂Y block, partial ∂W, partial ∂b.
    let scratch = Workspace.buffers(workers: workers.count,
                                    sizes: [plan.colSize, plan.blockSize, wCount, k])
    // Workers write ∂x of disjoint image ranges.
    x.withUnsafeBufferPointer { px in gemmWeight.withUnsafeBufferPointer { pw in
        let xs = px.baseAddress!, ws = pw.baseAddress!
        Parallel.run(workers.count) { w in
            let col = scratch[w][0], block = scratch[w][1], dw = scratch[w][2], db = scratch[w][3]
            dw.update(repeating: 0, count: wCount); db.update(repeating: 0, count: k)
            var n0 = workers[w].lowerBound
            while n0 < workers[w].upperBound {
                let imgs = Swift.min(plan.imagesPerChunk, workers[w].upperBound - n0)
                let cols = imgs * p
                // ∂Y where it is, image by image; or copied into a (K, imgs·P) block for small
                // maps, and for a pointwise layer whose ∂x overwrites ∂Y[n] as it is written.
                let copied = !plan.gemmsPerImage(images: imgs) || (plan.direct && inPlace)
                let rows = ChunkRows(straight: !copied, images: imgs, plan, at: UnsafeMutablePointer(mutating: dys + n0 * k * p), block: block)
                if copied {
                    for img in 0..<imgs { for kk in 0..<k {
                        SIMDLoops.copy(block + kk * cols + img * p, dys + ((n0 + img) * k + kk) * p, p)
                    }}
                }
                if needB {
                    for kk in 0..<k { for part in 0..<rows.parts { db[kk] += SIMDLoops.sum(rows.row(kk, part: part), rows.columns) } }
                }
                let xChunk = xs + n0 * g.channels * g.height * g.width
                if needW {
                    let colPtr: UnsafePointer<Float>
                    if plan.direct { colPtr = xChunk } else { im2col(xChunk, images: imgs, g, into: col); colPtr = UnsafePointer(col) }
                    for part in 0..<rows.parts {
                        for gi in 0..<groups {
                            let dyRows = rows.row(gi * plan.kPerGroup, part: part)
                            let colRows = colPtr + gi * plan.patchPerGroup * cols + part * rows.columns
                            let partial = dw + gi * plan.kPerGroup * plan.patchPerGroup
                            if plan.transposedWeightGradient {
                                sgemm(transB: true, m: plan.patchPerGroup, n: plan.kPerGroup, k: rows.columns,
                                      a: colRows, lda: cols, b: dyRows, ldb: rows.rowStride,
                                      beta: 1, c: partial, ldc: plan.kPerGroup)
                            } else {
                                sgemm(transB: true, m: plan.kPerGroup, n: plan.patchPerGroup, k: rows.columns,
                                      a: dyRows, lda: rows.rowStride, b: colRows, ldb: cols,
                                      beta: 1, c: partial, ldc: plan.patchPerGroup)
                            }
                        }
                    }
                }
                if let dxs = dxStore {
                    let dxChunk = dxs + n0 * g.channels * g.height * g.width
                    // Every image's ∂col (pointwise with one image: ∂x[n] (+)= Wᵀ ∂Y[n] directly)
                    // before col2im writes the chunk's ∂x, which in place overwrites its ∂Y.
                    for part in 0..<rows.parts {
                        for gi in 0..<groups {
                            sgemm(transA: true, m: plan.patchPerGroup, n: rows.columns, k: plan.kPerGroup,
                                  a: ws + gi * plan.kPerGroup * plan.patchPerGroup, lda: plan.patchPerGroup,
                                  b: rows.row(gi * plan.kPerGroup, part: part), ldb: rows.rowStride,
                                  beta: plan.direct && !inPlace ? 1 : 0,
                                  c: (plan.direct ? dxChunk : col) + gi * plan.patchPerGroup * cols + part * rows.columns, ldc: cols)
                        }
                    }
                    if !plan.direct {
                        // In place, the chunk's ∂x starts from nothing where its ∂Y was.
                        if inPlace { SIMDLoops.zero(dxChunk, imgs * g.channels * g.height * g.width) }
                        col2im(col, images: imgs, g, addingInto: dxChunk)
                    }
                }
                n0 += imgs
            }
        }
    }}
    // Reduce the workers' partial sums in a fixed order (deterministic for a thread count).
    if let dWeight {
        if g.isCompact || plan.transposedWeightGradient {
            // Entry (k, j) of a group's partial, j = c·T + t, is at k·(C/G·T) + j, or at j·(K/G) + k
            // when transposed; with compact taps, live tap t goes back to its place in (kh·kw).
            let taps = g.taps, full = g.kernelH * g.kernelW, kg = plan.kPerGroup, ppg = plan.patchPerGroup
            dWeight.withGradBuffer { gw in
                for w in 0..<workers.count {
                    let s = scratch[w][2]
                    for gi in 0..<groups {
                        let partial = s + gi * kg * ppg
                        for kk in 0..<kg {
                            let row = gw.baseAddress! + (gi * kg + kk) * (ppg / taps.count) * full
                            for j in 0..<ppg {
                                let value = plan.transposedWeightGradient ? partial[j * kg + kk] : partial[kk * ppg + j]
                                row[(j / taps.count) * full + taps[j % taps.count]] += value
                            }
                        }
                    }
                }
            }
        } else {
            addWorkerPartials(scratch, slot: 2, count: wCount, into: dWeight)
        }
    }
    if let dBias {
        addWorkerPartials(scratch, slot: 3, count: k, into: dBias)
    }
}

/// Adds each worker's partial sums (buffer `slot` of its scratch, `count` values) into the
/// node's gradient, worker by worker: a fixed order, so results are deterministic for a thread count.
func addWorkerPartials(_ scratch: [[UnsafeMutablePointer<Float>]], slot: Int, count: Int, into node: GradNode) {
    node.withGradBuffer { g in
        for worker in scratch.indices { let s = scratch[worker][slot]; for i in 0..<count { g[i] += s[i] } }
    }
}
