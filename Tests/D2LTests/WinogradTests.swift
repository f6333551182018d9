import Testing
@testable import D2L

extension CoreTests {
    @Suite struct WinogradTests {
        static let variants: [(m: Int, r: Int)] = [(2, 3), (3, 3), (4, 3), (2, 5), (3, 5)]

        /// y = Aᵀ[(G·g) ⊙ (Bᵀ·d)] equals the correlation y_k = Σ_j g_j d_{k+j}, in one dimension.
        @Test(arguments: 0..<5)
        func oneDimensionalIdentity(_ which: Int) {
            let (m, r) = Self.variants[which]
            let f = WinogradMatrices(m: m, r: r)
            let alpha = f.alpha
            var rng = SeededGenerator(seed: UInt64(10 + which))
            for _ in 0..<20 {
                let g = (0..<r).map { _ in Double(rng.uniform(-1, 1)) }
                let d = (0..<alpha).map { _ in Double(rng.uniform(-1, 1)) }
                let gg = (0..<alpha).map { i in (0..<r).reduce(0.0) { $0 + Double(f.g[i * r + $1]) * g[$1] } }
                let dd = (0..<alpha).map { i in (0..<alpha).reduce(0.0) { $0 + Double(f.bt[i * alpha + $1]) * d[$1] } }
                for k in 0..<m {
                    let winograd = (0..<alpha).reduce(0.0) { $0 + Double(f.at[k * alpha + $1]) * gg[$1] * dd[$1] }
                    let direct = (0..<r).reduce(0.0) { $0 + g[$1] * d[k + $1] }
                    #expect(Swift.abs(winograd - direct) < 1e-5, "F(\(m), \(r)) output \(k)")
                }
            }
        }

        /// The construction reproduces the integer input transform of Lavin & Gray's F(4×4, 3×3).
        @Test func lavinGrayInputTransform() {
            let f = WinogradMatrices(m: 4, r: 3)
            let lavin: [[Float]] = [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0],
                                    [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]]
            // Rows may differ in sign (the same algorithm, with the sign moved into G).
            for (i, row) in lavin.enumerated() {
                let ours = Array(f.bt[(i * 6)..<(i * 6 + 6)])
                #expect(ours == row || ours == row.map { -$0 }, "row \(i): \(ours)")
            }
        }

        struct Case: Sendable, CustomStringConvertible {
            let n, c, h, w, k, kernel, pad: Int
            var description: String { "n\(n) c\(c) \(h)x\(w) k\(k) \(kernel)x\(kernel) p\(pad)" }
        }
        /// Sizes such that every case takes the Winograd path with one and with two workers
        /// (at least `targetTiles` tiles per worker).
        static let cases: [Case] = [
            Case(n: 8, c: 32, h: 16, w: 16, k: 32, kernel: 3, pad: 1),   // F(4,3), whole tiles
            Case(n: 6, c: 33, h: 27, w: 14, k: 34, kernel: 3, pad: 1),   // overhanging tiles, non-square map
            Case(n: 8, c: 32, h: 18, w: 18, k: 32, kernel: 3, pad: 0),   // no padding
            Case(n: 22, c: 32, h: 6, w: 6, k: 32, kernel: 3, pad: 1),    // F(3,3) with one worker, F(2,3) with two (more tiles)
            Case(n: 128, c: 32, h: 3, w: 3, k: 32, kernel: 3, pad: 1),   // the smallest map: one F(3,3) tile per image
            Case(n: 48, c: 64, h: 5, w: 7, k: 64, kernel: 3, pad: 1),    // overhanging F(3,3) tiles
            Case(n: 37, c: 32, h: 10, w: 10, k: 32, kernel: 3, pad: 1),  // several chunks per worker
            Case(n: 4, c: 24, h: 26, w: 26, k: 40, kernel: 5, pad: 2),   // F(3,5): AlexNet's and NiN's 5×5 layer
            Case(n: 10, c: 48, h: 12, w: 17, k: 48, kernel: 5, pad: 0),  // F(3,5), unpadded, overhanging tiles
        ]

        @Test func casesTakeTheWinogradPath() {
            for t in Self.cases {
                let g = ConvGeometry(channels: t.c, height: t.h, width: t.w, kernel: (t.kernel, t.kernel),
                                     stride: (1, 1), padding: (t.pad, t.pad))
                for workers in [1, 2] {
                    #expect(WinogradPlan.choose(g, outChannels: t.k, groups: 1, imagesPerWorker: t.n / workers) != nil, "\(t)")
                }
            }
        }

        @Test func choiceOfTileAndFallbacks() {
            func plan(_ c: Int, _ h: Int, _ k: Int, kernel: Int = 3, stride: Int = 1, pad: Int = 1, groups: Int = 1) -> WinogradPlan? {
                let g = ConvGeometry(channels: c, height: h, width: h, kernel: (kernel, kernel),
                                     stride: (stride, stride), padding: (pad, pad))
                return WinogradPlan.choose(g, outChannels: k, groups: groups, imagesPerWorker: 64)
            }
            #expect(plan(64, 24, 64)?.m == 4)                      // ResNet at 96 px: F(4×4, 3×3)
            #expect(plan(64, 6, 64)?.m == 3)                       // 6×6: four 3×3 tiles, none overhanging
            #expect(plan(512, 3, 512)?.m == 3)                     // 3×3 map: one tile
            #expect(plan(64, 12, 64)?.m == 4)                      // 12×12: nine 4×4 tiles
            #expect(plan(96, 26, 256, kernel: 5, pad: 2)?.m == 3)  // AlexNet's and NiN's 5×5 at 224 px: F(3×3, 5×5)
            #expect(plan(256, 2, 384) == nil)                      // 2×2 map: im2col
            // With too few images per worker for F(3×3)'s four tiles per 6×6 map, F(2×2)'s nine.
            let six = ConvGeometry(channels: 32, height: 6, width: 6, kernel: (3, 3), stride: (1, 1), padding: (1, 1))
            #expect(WinogradPlan.choose(six, outChannels: 32, groups: 1, imagesPerWorker: 11)?.m == 2)
            #expect(plan(64, 24, 64, stride: 2) == nil)
            #expect(plan(64, 24, 64, groups: 2) == nil)
            #expect(plan(1, 24, 16) == nil)                        // one input channel: im2col
            #expect(plan(384, 1, 10) == nil)                       // 1×1 map: only the centre tap is live
            #expect(plan(64, 24, 64, kernel: 7, pad: 3) == nil)
            Winograd.enabled = false
            defer { Winograd.enabled = true }
            #expect(plan(64, 24, 64) == nil)
        }

        /// The forward pass equals the im2col path's (itself checked against `naiveConv`).
        @Test(arguments: cases, [1, 2])
        func forwardMatchesIm2col(_ t: Case, threads: Int) {
            Parallel.configure(threads: threads)
            defer { Parallel.configure(threads: 1) }
            let x = randomTensor([t.n, t.c, t.h, t.w], seed: 21)
            let w = randomTensor([t.k, t.c, t.kernel, t.kernel], seed: 22)
            let b = randomTensor([t.k], seed: 23)
            let config = Conv2dConfig(padding: (t.pad, t.pad))
            let y = conv2d(x, weight: w, bias: b, config)
            Winograd.enabled = false
            defer { Winograd.enabled = true }
            let reference = conv2d(x, weight: w, bias: b, config)
            #expect(y.shape == reference.shape)
            #expect(maxAbsDiff(y.data, reference.data) < 2e-4 * (1 + (reference.data.map(Swift.abs).max() ?? 0)), "\(t)")
        }

        /// And, for one case, the definition computed in Double.
        @Test func forwardMatchesDefinition() {
            let t = Self.cases[3]
            let x = randomTensor([t.n, t.c, t.h, t.w], seed: 24)
            let w = randomTensor([t.k, t.c, t.kernel, t.kernel], seed: 25)
            let b = randomTensor([t.k], seed: 26)
            let y = conv2d(x, weight: w, bias: b, Conv2dConfig(padding: (t.pad, t.pad)))
            let expected = naiveConvRect(x, w, b, pad: t.pad)
            #expect(maxAbsDiff(y.data, expected) < 2e-4 * (1 + (expected.map(Swift.abs).max() ?? 0)))
        }

        /// All three gradients equal those of the im2col path (itself checked against finite differences).
        @Test(arguments: cases, [1, 2])
        func backwardMatchesIm2col(_ t: Case, threads: Int) {
            Parallel.configure(threads: threads)
            defer { Parallel.configure(threads: 1) }
            func gradients(winograd: Bool) -> [[Float]] {
                Winograd.enabled = winograd
                defer { Winograd.enabled = true }
                let x = randomTensor([t.n, t.c, t.h, t.w], seed: 31)
                let w = randomTensor([t.k, t.c, t.kernel, t.kernel], seed: 32)
                let b = randomTensor([t.k], seed: 33)
                let y = conv2d(x, weight: w, bias: b, Conv2dConfig(padding: (t.pad, t.pad)))
                var g = SeededGenerator(seed: 34)
                y.backward(seed: (0..<y.count).map { _ in g.uniform(-1, 1) })
                return [x.grad!, w.grad!, b.grad!]
            }
            let fast = gradients(winograd: true), reference = gradients(winograd: false)
            for (name, (a, b)) in zip(["x", "weight", "bias"], zip(fast, reference)) {
                let scale = 1 + (b.map(Swift.abs).max() ?? 0)
                #expect(maxAbsDiff(a, b) < 2e-4 * scale, "∂\(name) for \(t)")
            }
        }

        /// An input that takes no gradient (backward then skips ∂x and the weight transform it
        /// needs): ∂W and ∂b the same, bit for bit, as with ∂x computed.
        @Test(arguments: cases.prefix(3))
        func weightGradientWithoutInputGradient(_ t: Case) {
            func gradients(inputTakesGradient: Bool) -> (x: [Float]?, w: [Float], b: [Float]) {
                let x = randomTensor([t.n, t.c, t.h, t.w], seed: 35, requiresGrad: inputTakesGradient)
                let w = randomTensor([t.k, t.c, t.kernel, t.kernel], seed: 36)
                let b = randomTensor([t.k], seed: 37)
                let y = conv2d(x, weight: w, bias: b, Conv2dConfig(padding: (t.pad, t.pad)))
                var g = SeededGenerator(seed: 38)
                y.backward(seed: (0..<y.count).map { _ in g.uniform(-1, 1) })
                return (x.grad, w.grad!, b.grad!)
            }
            let with = gradients(inputTakesGradient: true), without = gradients(inputTakesGradient: false)
            #expect(with.x != nil && without.x == nil)
            #expect(with.w == without.w, "\(t)")
            #expect(with.b == without.b, "\(t)")
        }

        @Test(arguments: [Case(n: 11, c: 32, h: 8, w: 12, k: 32, kernel: 3, pad: 1),
                          Case(n: 16, c: 32, h: 10, w: 10, k: 32, kernel: 3, pad: 0),
                          Case(n: 64, c: 32, h: 3, w: 3, k: 32, kernel: 3, pad: 1),
                          Case(n: 6, c: 8, h: 12, w: 11, k: 96, kernel: 5, pad: 2)])
        func gradientsMatchFiniteDifferences(_ t: Case) throws {
            let x = randomTensor([t.n, t.c, t.h, t.w], seed: 41)
            let w = randomTensor([t.k, t.c, t.kernel, t.kernel], seed: 42)
            let b = randomTensor([t.k], seed: 43)
            let g = ConvGeometry(channels: t.c, height: t.h, width: t.w, kernel: (t.kernel, t.kernel),
                                 stride: (1, 1), padding: (t.pad, t.pad))
            #expect(WinogradPlan.choose(g, outChannels: t.k, groups: 1, imagesPerWorker: t.n) != nil)
            // The output is linear in each input, so a central difference has no truncation error
            // at any step; a step of 0.1 instead of 0.01 divides the float rounding in it by ten
            // (Winograd's transforms round more than a direct sum).
            try checkGradients([x, w, b], eps: 0.1) { conv2d(x, weight: w, bias: b, Conv2dConfig(padding: (t.pad, t.pad))) }
        }
    }
}

/// Stride-1 convolution of rectangular maps straight from the definition, in Double.
func naiveConvRect(_ x: Tensor, _ w: Tensor, _ b: Tensor?, pad: Int) -> [Float] {
    let (n, c, h, wd) = (x.shape[0], x.shape[1], x.shape[2], x.shape[3])
    let (k, kh, kw) = (w.shape[0], w.shape[2], w.shape[3])
    let oh = h + 2 * pad - kh + 1, ow = wd + 2 * pad - kw + 1
    var y = [Float](repeating: 0, count: n * k * oh * ow)
    for i in 0..<n { for o in 0..<k { for oy in 0..<oh { for ox in 0..<ow {
        var s = Double(b?.data[o] ?? 0)
        for ci in 0..<c { for u in 0..<kh { for v in 0..<kw {
            let iy = oy - pad + u, ix = ox - pad + v
            guard iy >= 0, iy < h, ix >= 0, ix < wd else { continue }
            s += Double(x.data[((i * c + ci) * h + iy) * wd + ix]) * Double(w.data[((o * c + ci) * kh + u) * kw + v])
        }}}
        y[((i * k + o) * oh + oy) * ow + ox] = Float(s)
    }}}}
    return y
}
