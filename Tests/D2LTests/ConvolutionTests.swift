import Testing
@testable import D2L

/// Direct convolution straight from the definition, in Double.
func naiveConv(_ x: Tensor, _ w: Tensor, _ b: Tensor?, stride: Int, pad: Int, groups: Int) -> [Float] {
    let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (k, cg, kh, kw) = (w.shape[0], w.shape[1], w.shape[2], w.shape[3])
    let oh = (h + 2 * pad - kh) / stride + 1, ow = (wd + 2 * pad - kw) / stride + 1
    let kg = k / groups
    var y = [Float](repeating: 0, count: n * k * oh * ow)
    for i in 0..<n { for o in 0..<k { for oy in 0..<oh { for ox in 0..<ow {
        var s = Double(b?.data[o] ?? 0)
        for ci in 0..<cg {
            let channel = (o / kg) * cg + ci
            for u in 0..<kh { for v in 0..<kw {
                let iy = oy * stride - pad + u, ix = ox * stride - pad + v
                guard iy >= 0, iy < h, ix >= 0, ix < wd else { continue }
                s += Double(x.data[((i * c + channel) * h + iy) * wd + ix]) * Double(w.data[((o * cg + ci) * kh + u) * kw + v])
            }}
        }
        y[((i * k + o) * oh + oy) * ow + ox] = Float(s)
    }}}}
    _ = c
    return y
}

extension CoreTests {
    @Suite struct ConvolutionTests {
        struct Case: Sendable, CustomStringConvertible {
            let n, c, h, k, kernel, stride, pad, groups: Int
            var description: String { "n\(n) c\(c) h\(h) k\(k) \(kernel)x\(kernel) s\(stride) p\(pad) g\(groups)" }
        }
        static let cases: [Case] = [
            Case(n: 6, c: 4, h: 12, k: 4, kernel: 3, stride: 1, pad: 1, groups: 1),   // 144-pixel maps, chunked: a GEMM per image
            Case(n: 5, c: 3, h: 12, k: 5, kernel: 1, stride: 1, pad: 0, groups: 1),   // the same for a 1×1 layer
            // Stride 1 without padding: no tap reads padding, so each copies whole rows (`copyRows`)
            // and adds them back whole (`addRows`); rows of exactly one vector (BN-LeNet's second
            // layer, several images per chunk), of two, and of a vector and a half.
            Case(n: 5, c: 6, h: 12, k: 16, kernel: 5, stride: 1, pad: 0, groups: 1),
            Case(n: 3, c: 3, h: 18, k: 4, kernel: 3, stride: 1, pad: 0, groups: 1),
            Case(n: 2, c: 2, h: 14, k: 3, kernel: 3, stride: 1, pad: 0, groups: 1),
            Case(n: 2, c: 3, h: 7, k: 4, kernel: 3, stride: 1, pad: 1, groups: 1),
            Case(n: 2, c: 2, h: 19, k: 3, kernel: 3, stride: 2, pad: 1, groups: 1),   // wide rows: the row-copy path
            Case(n: 2, c: 3, h: 40, k: 4, kernel: 3, stride: 2, pad: 1, groups: 1),   // stride 2, eight columns at a time
            Case(n: 2, c: 2, h: 12, k: 3, kernel: 3, stride: 1, pad: 1, groups: 1),
            Case(n: 2, c: 2, h: 9, k: 3, kernel: 7, stride: 1, pad: 3, groups: 1),    // stride 1: rows and columns of padding per tap
            Case(n: 3, c: 4, h: 10, k: 4, kernel: 5, stride: 1, pad: 2, groups: 2),   // stride 1, groups
            Case(n: 3, c: 4, h: 1, k: 5, kernel: 3, stride: 1, pad: 1, groups: 1),    // 1×1 map: only the centre tap is live
            Case(n: 2, c: 4, h: 2, k: 4, kernel: 5, stride: 1, pad: 2, groups: 2),    // 2×2 map: taps 1…3 of 0…4 per axis
            Case(n: 3, c: 2, h: 9, k: 5, kernel: 3, stride: 2, pad: 1, groups: 1),
            Case(n: 2, c: 4, h: 8, k: 6, kernel: 3, stride: 1, pad: 1, groups: 2),
            Case(n: 2, c: 3, h: 6, k: 4, kernel: 1, stride: 1, pad: 0, groups: 1),
            Case(n: 2, c: 4, h: 5, k: 4, kernel: 1, stride: 2, pad: 0, groups: 1),
            Case(n: 2, c: 1, h: 12, k: 3, kernel: 5, stride: 1, pad: 0, groups: 1),
            Case(n: 1, c: 1, h: 23, k: 2, kernel: 11, stride: 4, pad: 1, groups: 1),
            Case(n: 5, c: 2, h: 4, k: 2, kernel: 7, stride: 2, pad: 3, groups: 1),
            Case(n: 2, c: 8, h: 3, k: 8, kernel: 3, stride: 1, pad: 1, groups: 8),
            Case(n: 40, c: 4, h: 3, k: 6, kernel: 3, stride: 1, pad: 1, groups: 2),   // many images per chunk
            Case(n: 33, c: 6, h: 6, k: 4, kernel: 1, stride: 1, pad: 0, groups: 1),   // pointwise, chunked
            Case(n: 20, c: 4, h: 5, k: 6, kernel: 1, stride: 1, pad: 0, groups: 2),   // pointwise, chunked, groups
            Case(n: 3, c: 4, h: 23, k: 5, kernel: 1, stride: 1, pad: 0, groups: 1),   // pointwise on a 529-pixel map: image by image
            Case(n: 2, c: 4, h: 34, k: 4, kernel: 1, stride: 2, pad: 0, groups: 2),   // a 1×1 stride-2 shortcut, odd output width
            Case(n: 2, c: 1, h: 33, k: 3, kernel: 7, stride: 2, pad: 3, groups: 1),   // a 7×7 stride-2 stem
            Case(n: 2, c: 1, h: 67, k: 2, kernel: 11, stride: 4, pad: 0, groups: 1),  // NiN's quick first layer: 15 wide
            Case(n: 1, c: 2, h: 99, k: 2, kernel: 11, stride: 4, pad: 1, groups: 1),  // stride 4, eight columns at a time
            // One input channel, stride 1, rows of eight or more: the direct kernel, four
            // output channels at a time (K not a multiple of four), padded or not, rows that end
            // in a partial vector.
            Case(n: 3, c: 1, h: 28, k: 6, kernel: 5, stride: 1, pad: 0, groups: 1),   // LeNet's first layer
            Case(n: 2, c: 1, h: 13, k: 5, kernel: 3, stride: 1, pad: 1, groups: 1),   // 13 wide: 8 + 5
            Case(n: 2, c: 1, h: 20, k: 9, kernel: 5, stride: 1, pad: 2, groups: 1),   // 20 wide, padded
            Case(n: 1, c: 1, h: 10, k: 4, kernel: 3, stride: 1, pad: 0, groups: 1),   // exactly eight wide
            Case(n: 2, c: 1, h: 16, k: 3, kernel: 7, stride: 1, pad: 3, groups: 1),   // 49 taps: ten blocks of five, the last of four
        ]

        @Test(arguments: cases, [1, 2])
        func matchesDirectConvolution(_ t: Case, threads: Int) {
            Parallel.configure(threads: threads)
            defer { Parallel.configure(threads: 1) }
            let x = randomTensor([t.n, t.c, t.h, t.h], seed: 1)
            let w = randomTensor([t.k, t.c / t.groups, t.kernel, t.kernel], seed: 2)
            let b = randomTensor([t.k], seed: 3)
            let y = conv2d(x, weight: w, bias: b, Conv2dConfig(stride: (t.stride, t.stride), padding: (t.pad, t.pad), groups: t.groups))
            let expected = naiveConv(x, w, b, stride: t.stride, pad: t.pad, groups: t.groups)
            #expect(y.count == expected.count)
            #expect(maxAbsDiff(y.data, expected) < 1e-4, "\(t)")
        }

        @Test(arguments: cases.prefix(18), [1, 2])
        func gradientsMatchFiniteDifferences(_ t: Case, threads: Int) throws {
            Parallel.configure(threads: threads)
            defer { Parallel.configure(threads: 1) }
            let x = randomTensor([t.n, t.c, t.h, t.h], seed: 4)
            let w = randomTensor([t.k, t.c / t.groups, t.kernel, t.kernel], seed: 5)
            let b = randomTensor([t.k], seed: 6)
            let cfg = Conv2dConfig(stride: (t.stride, t.stride), padding: (t.pad, t.pad), groups: t.groups)
            try checkGradients([x, w, b]) { conv2d(x, weight: w, bias: b, cfg) }
        }

        /// The one-channel cases the direct kernel takes.
        static let singleChannelCases = cases.filter { t in
            SingleChannelConvolution.applies(ConvGeometry(channels: t.c, height: t.h, width: t.h, kernel: (t.kernel, t.kernel),
                                                          stride: (t.stride, t.stride), padding: (t.pad, t.pad)), groups: t.groups)
        }

        /// A one-channel layer whose input takes no gradient (a network's first layer) gets ∂W
        /// and ∂b from the direct kernel, without a column matrix: the same as the im2col
        /// backward gives when x takes a gradient too, and as finite differences.
        @Test(arguments: singleChannelCases, [1, 2])
        func firstLayerWeightGradientMatchesIm2col(_ t: Case, threads: Int) throws {
            #expect(Self.singleChannelCases.count == 6)
            Parallel.configure(threads: threads)
            defer { Parallel.configure(threads: 1) }
            let cfg = Conv2dConfig(padding: (t.pad, t.pad))
            let outputWeights = randomTensor([t.n, t.k, t.h + 2 * t.pad - t.kernel + 1, t.h + 2 * t.pad - t.kernel + 1], seed: 7, requiresGrad: false)
            func gradients(inputTakesGradient: Bool) -> [[Float]] {
                let x = randomTensor([t.n, 1, t.h, t.h], seed: 8, requiresGrad: inputTakesGradient)
                let w = randomTensor([t.k, 1, t.kernel, t.kernel], seed: 9), b = randomTensor([t.k], seed: 10)
                (conv2d(x, weight: w, bias: b, cfg) * outputWeights).sum().backward()
                return [w.grad!, b.grad!]
            }
            let direct = gradients(inputTakesGradient: false), lowered = gradients(inputTakesGradient: true)
            for (name, (a, e)) in zip(["weight", "bias"], zip(direct, lowered)) {
                #expect(maxAbsDiff(a, e) < 1e-5 * (1 + (e.map(Swift.abs).max() ?? 0)), "∂\(name), \(t)")
            }
            let x = randomTensor([t.n, 1, t.h, t.h], seed: 11, requiresGrad: false)
            let w = randomTensor([t.k, 1, t.kernel, t.kernel], seed: 12), b = randomTensor([t.k], seed: 13)
            try checkGradients([w, b]) { conv2d(x, weight: w, bias: b, cfg) }
        }

        /// ∂W against the definition in Double, Σ_n,oy,ox ∂y[n,k,oy,ox]·x[n,c,oy·s−p+i,ox·s−p+j],
        /// for both orientations of its GEMM (∂Wᵀ up to 32 output channels per group, ∂W above)
        /// and with compact taps (on a 1×1 map only the centre tap is live), with and without groups.
        @Test(arguments: [(c: 3, h: 5, k: 6, groups: 1), (c: 3, h: 5, k: 33, groups: 1), (c: 4, h: 1, k: 6, groups: 2),
                          (c: 2, h: 1, k: 40, groups: 1), (c: 4, h: 6, k: 132, groups: 2)])
        func weightGradientMatchesDefinition(_ t: (c: Int, h: Int, k: Int, groups: Int)) {
            let n = 3, cg = t.c / t.groups, kg = t.k / t.groups
            let x = randomTensor([n, t.c, t.h, t.h], seed: 91, requiresGrad: false)
            let w = randomTensor([t.k, cg, 3, 3], seed: 92)
            let y = conv2d(x, weight: w, bias: nil, Conv2dConfig(padding: (1, 1), groups: t.groups))
            var rng = SeededGenerator(seed: 93)
            let dy = (0..<y.count).map { _ in rng.uniform(-1, 1) }
            y.backward(seed: dy)
            var expected = [Double](repeating: 0, count: w.count)
            for i in 0..<n { for k in 0..<t.k { for c in 0..<cg { for u in 0..<3 { for v in 0..<3 {
                var s = 0.0
                for oy in 0..<t.h { for ox in 0..<t.h {
                    let iy = oy - 1 + u, ix = ox - 1 + v
                    guard iy >= 0, iy < t.h, ix >= 0, ix < t.h else { continue }
                    let channel = (k / kg) * cg + c
                    s += Double(dy[((i * t.k + k) * t.h + oy) * t.h + ox]) * Double(x.data[((i * t.c + channel) * t.h + iy) * t.h + ix])
                }}
                expected[((k * cg + c) * 3 + u) * 3 + v] += s
            }}}}}
            #expect(maxAbsDiff(w.grad!, expected.map(Float.init)) < 1e-4, "\(t)")
        }

        @Test func liveTaps() {
        let g = ConvGeometry(channels: 1, height: 1, width: 1, kernel: (3, 3), stride: (1, 1), padding: (1, 1))
        #expect(g.taps == [4] && g.isCompact && g.patchSize == 1)
        let h = ConvGeometry(channels: 2, height: 2, width: 2, kernel: (5, 5), stride: (1, 1), padding: (2, 2))
        #expect(h.taps == [6, 7, 8, 11, 12, 13, 16, 17, 18])
        let full = ConvGeometry(channels: 3, height: 6, width: 6, kernel: (3, 3), stride: (1, 1), padding: (1, 1))
        #expect(!full.isCompact && full.patchSize == 27)
    }

    /// When ∂x has ∂y's size and starts from nothing, the backward pass writes ∂x into ∂y's
    /// buffer chunk by chunk. That gives the same ∂x, ∂W and ∂b, bit for bit, as adding into a
    /// zeroed buffer of x's own (the path taken when x already holds a gradient), for each
    /// kind of lowering: 1×1 straight from x[n], 1×1 and 3×3 chunked, grouped, and Winograd.
    @Test(arguments: [(n: 3, c: 8, h: 24, kernel: 1, groups: 1, winograd: false),   // 576 px: direct
                      (n: 5, c: 8, h: 6, kernel: 1, groups: 1, winograd: false),    // chunked 1×1
                      (n: 5, c: 6, h: 9, kernel: 3, groups: 1, winograd: false),    // im2col
                      (n: 5, c: 32, h: 12, kernel: 3, groups: 2, winograd: false),  // grouped (RegNet)
                      (n: 24, c: 32, h: 12, kernel: 3, groups: 1, winograd: true)], [1, 2])
    func gradientInPlaceMatchesAddingIntoAFreshBuffer(_ t: (n: Int, c: Int, h: Int, kernel: Int, groups: Int, winograd: Bool),
                                                      threads: Int) throws {
        Parallel.configure(threads: threads)
        Winograd.enabled = t.winograd
        defer { Parallel.configure(threads: 1); Winograd.enabled = true }
        let cfg = Conv2dConfig(padding: (t.kernel / 2, t.kernel / 2), groups: t.groups)
        #expect(Winograd.isChosen(channels: t.c, size: t.h, outChannels: t.c, kernel: t.kernel, padding: t.kernel / 2,
                                  batch: t.n) == t.winograd)
        let outputWeights = randomTensor([t.n, t.c, t.h, t.h], seed: 31, requiresGrad: false)
        func gradients(xStartsWithGradient: Bool) -> (dx: [Float], dw: [Float], db: [Float]) {
            let x = randomTensor([t.n, t.c, t.h, t.h], seed: 32), w = randomTensor([t.c, t.c / t.groups, t.kernel, t.kernel], seed: 33)
            let b = randomTensor([t.c], seed: 34)
            if xStartsWithGradient { x.grad = [Float](repeating: 0, count: x.count) }
            (conv2d(x, weight: w, bias: b, cfg) * outputWeights).sum().backward()
            return (x.grad!, w.grad!, b.grad!)
        }
        let inPlace = gradients(xStartsWithGradient: false), added = gradients(xStartsWithGradient: true)
        #expect(maxAbsDiff(inPlace.dx, added.dx) == 0)
        #expect(maxAbsDiff(inPlace.dw, added.dw) == 0)
        #expect(maxAbsDiff(inPlace.db, added.db) == 0)
        #expect(inPlace.dx.contains { $0 != 0 })
    }

    /// A convolution of a one-channel input leaves a recipe for its output: the next layer
    /// that needs those values in backward (here a convolution after ReLU, and batch norm)
    /// keeps the recipe instead, so the step keeps exactly that activation less, and every
    /// gradient comes out bit for bit as when the values are kept.
    @Test(arguments: [false, true])
    func oneChannelConvolutionIsRecomputedNotKept(throughBatchNorm: Bool) throws {
        // Outputs this small are kept in practice (`OneChannelRecompute`); here every size is recomputed.
        let threshold = OneChannelRecompute.fromBytes
        OneChannelRecompute.fromBytes = 0
        defer { OneChannelRecompute.fromBytes = threshold }
        let x = randomTensor([4, 1, 13, 13], seed: 51, requiresGrad: false)
        let w1 = randomTensor([8, 1, 5, 5], seed: 52), b1 = randomTensor([8], seed: 53)
        let w2 = randomTensor([6, 8, 3, 3], seed: 54), b2 = randomTensor([6], seed: 55)
        let gamma = randomTensor([8], seed: 56), beta = randomTensor([8], seed: 57)
        let outputWeights = randomTensor([4, 6, 13, 13], seed: 58, requiresGrad: false)
        let parameters = [w1, b1, w2, b2] + (throughBatchNorm ? [gamma, beta] : [])
        func step(keepingValues: Bool) -> (saved: Int, grads: [[Float]]) {
            parameters.forEach { $0.zeroGrad() }
            var h = conv2d(x, weight: w1, bias: b1, Conv2dConfig(padding: (2, 2)))
            #expect(h.recompute != nil)
            if keepingValues { h.recompute = nil }
            if throughBatchNorm {
                let state = BatchNormState(runningMean: .zeros([8]), runningVar: .ones([8]))
                h = batchNorm(h, gamma: gamma, beta: beta, state: state, training: true)
            }
            let y = conv2d(h.relu(), weight: w2, bias: b2, Conv2dConfig(padding: (1, 1)))
            #expect(y.recompute == nil)   // eight input channels: kept as values
            let loss = (y * outputWeights).sum()
            let saved = loss.bytesSavedForBackward
            loss.backward()
            return (saved, parameters.map { $0.grad! })
        }
        let recomputed = step(keepingValues: false), kept = step(keepingValues: true)
        // Without batch norm the second convolution keeps relu(h) (a recipe instead); with it,
        // batch norm keeps h (a recipe instead) and the second convolution keeps a recipe anyway.
        #expect(kept.saved - recomputed.saved == 4 * 8 * 13 * 13 * MemoryLayout<Float>.stride)
        for (a, b) in zip(recomputed.grads, kept.grads) { #expect(maxAbsDiff(a, b) == 0) }
    }

    /// Below `OneChannelRecompute.fromBytes` the output is kept; from it on, recomputed.
    @Test func smallOneChannelOutputsAreKept() {
        let x = randomTensor([2, 1, 8, 8], seed: 61, requiresGrad: false)
        let w = randomTensor([3, 1, 3, 3], seed: 62)
        let bytes = 2 * 3 * 6 * 6 * MemoryLayout<Float>.stride
        let threshold = OneChannelRecompute.fromBytes
        defer { OneChannelRecompute.fromBytes = threshold }
        OneChannelRecompute.fromBytes = bytes + 1
        #expect(conv2d(x, weight: w, bias: nil, Conv2dConfig()).recompute == nil)
        OneChannelRecompute.fromBytes = bytes
        #expect(conv2d(x, weight: w, bias: nil, Conv2dConfig()).recompute != nil)
        // BN-LeNet's first layer at batch 256 (3.5 MB) is kept, RegNet's stem at batch 128 (38 MB) is not.
        #expect(256 * 6 * 24 * 24 * MemoryLayout<Float>.stride < threshold)
        #expect(128 * 32 * 48 * 48 * MemoryLayout<Float>.stride >= threshold)
    }

    /// ∂x from the im2col backward (col2im: whole rows added back where a tap reads no padding,
    /// clipped rows elsewhere) against the definition in Double:
    ///   ∂x[n, c, iy, ix] = Σ_{o, u, v} ∂y[n, o, oy, ox] · w[o, c, u, v]  over oy·s − p + u = iy, ox·s − p + v = ix.
    @Test(arguments: [(n: 5, c: 6, h: 12, k: 16, kernel: 5, stride: 1, pad: 0), (n: 3, c: 3, h: 18, k: 4, kernel: 3, stride: 1, pad: 0),
                      (n: 2, c: 2, h: 14, k: 3, kernel: 3, stride: 1, pad: 0), (n: 3, c: 4, h: 12, k: 5, kernel: 3, stride: 1, pad: 1),
                      (n: 2, c: 3, h: 11, k: 2, kernel: 5, stride: 1, pad: 2), (n: 2, c: 2, h: 19, k: 3, kernel: 3, stride: 2, pad: 1)])
    func inputGradientMatchesDefinition(_ t: (n: Int, c: Int, h: Int, k: Int, kernel: Int, stride: Int, pad: Int)) {
        Winograd.enabled = false
        defer { Winograd.enabled = true }
        let x = randomTensor([t.n, t.c, t.h, t.h], seed: 11, requiresGrad: true)
        let w = randomTensor([t.k, t.c, t.kernel, t.kernel], seed: 12)
        let y = conv2d(x, weight: w, bias: nil, Conv2dConfig(stride: (t.stride, t.stride), padding: (t.pad, t.pad)))
        var g = SeededGenerator(seed: 13)
        let dy = (0..<y.count).map { _ in g.uniform(-1, 1) }
        y.backward(seed: dy)
        let oh = y.shape[2], ow = y.shape[3]
        var expected = [Double](repeating: 0, count: x.count)
        for i in 0..<t.n { for o in 0..<t.k { for oy in 0..<oh { for ox in 0..<ow {
            let d = Double(dy[((i * t.k + o) * oh + oy) * ow + ox])
            for c in 0..<t.c { for u in 0..<t.kernel { for v in 0..<t.kernel {
                let iy = oy * t.stride - t.pad + u, ix = ox * t.stride - t.pad + v
                guard iy >= 0, iy < t.h, ix >= 0, ix < t.h else { continue }
                expected[((i * t.c + c) * t.h + iy) * t.h + ix] += d * Double(w.data[((o * t.c + c) * t.kernel + u) * t.kernel + v])
            }}}
        }}}}
        #expect(maxAbsDiff(x.grad!, expected.map(Float.init)) < 1e-4, "\(t)")
    }

    @Test func chunkedBackwardMatchesSingleImages() throws {
            // The weight gradient of a 40-image batch equals the sum over 40 one-image batches.
            let x = randomTensor([40, 4, 3, 3], seed: 7), w = randomTensor([6, 2, 3, 3], seed: 8)
            let cfg = Conv2dConfig(stride: (1, 1), padding: (1, 1), groups: 2)
            conv2d(x, weight: w, bias: nil, cfg).sum().backward()
            let batched = w.grad!
            w.zeroGrad()
            for i in 0..<40 {
                let xi = Tensor(shape: [1, 4, 3, 3], data: Array(x.data[(i * 36)..<((i + 1) * 36)]))
                conv2d(xi, weight: w, bias: nil, cfg).sum().backward()
            }
            #expect(maxAbsDiff(batched, w.grad!) < 1e-3)
        }
    }
}
