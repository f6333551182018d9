import Testing
@testable import D2L

extension CoreTests {
    /// Grouped 3×3 convolutions through `Direct3x3Convolution` against the definition, the
    /// im2col path and finite differences.
    @Suite struct DirectGroupedConvolutionTests {
        struct Case: Sendable, CustomStringConvertible {
            let n, c, h, w, k, groups: Int
            var bias = true
            var description: String { "n\(n) c\(c) \(h)x\(w) k\(k) g\(groups)\(bias ? "" : " no bias")" }
        }
        static let cases: [Case] = [
            Case(n: 3, c: 32, h: 24, w: 24, k: 32, groups: 2),                // RegNet's first stage: 16 per group
            Case(n: 4, c: 80, h: 12, w: 12, k: 80, groups: 5),                // its second stage
            Case(n: 5, c: 10, h: 7, w: 13, k: 15, groups: 5),                 // 2 in, 3 out per group; odd sizes
            Case(n: 3, c: 12, h: 4, w: 4, k: 24, groups: 3, bias: false),     // the smallest map, no bias
            Case(n: 2, c: 64, h: 9, w: 5, k: 64, groups: 2),                  // 32 per group
            Case(n: 2, c: 128, h: 5, w: 6, k: 64, groups: 2),                 // 64 in, 32 out per group
        ]

        func geometry(_ t: Case) -> ConvGeometry {
            ConvGeometry(channels: t.c, height: t.h, width: t.w, kernel: (3, 3), stride: (1, 1), padding: (1, 1))
        }

        @Test func whichConvolutionsGoDirect() {
            func applies(_ c: Int, _ h: Int, _ k: Int, groups: Int, kernel: Int = 3, stride: Int = 1, pad: Int = 1) -> Bool {
                let g = ConvGeometry(channels: c, height: h, width: h, kernel: (kernel, kernel), stride: (stride, stride), padding: (pad, pad))
                return DirectGroupedConvolution.applies(g, outChannels: k, groups: groups)
            }
            #expect(applies(32, 24, 32, groups: 2))        // RegNet at 96 px
            #expect(applies(80, 12, 80, groups: 5))
            #expect(!applies(64, 24, 64, groups: 1))       // no groups: Winograd or im2col
            #expect(applies(128, 24, 128, groups: 2))      // 64 per group
            #expect(!applies(256, 12, 256, groups: 2))     // 128 per group: im2col's GEMMs have enough rows
            #expect(!applies(32, 24, 32, groups: 2, stride: 2))
            #expect(!applies(32, 24, 32, groups: 2, pad: 0))
            #expect(!applies(32, 24, 32, groups: 2, kernel: 5, pad: 2))
            #expect(!applies(80, 3, 80, groups: 5))        // 3×3 map: mostly padding
            DirectGroupedConvolution.enabled = false
            defer { DirectGroupedConvolution.enabled = true }
            #expect(!applies(32, 24, 32, groups: 2))
        }

        /// The output equals the definition computed in Double.
        @Test(arguments: cases, [1, 2])
        func forwardMatchesDefinition(_ t: Case, threads: Int) {
            #expect(DirectGroupedConvolution.applies(geometry(t), outChannels: t.k, groups: t.groups))
            Parallel.configure(threads: threads)
            defer { Parallel.configure(threads: 1) }
            let x = randomTensor([t.n, t.c, t.h, t.w], seed: 51)
            let w = randomTensor([t.k, t.c / t.groups, 3, 3], seed: 52)
            let b = t.bias ? randomTensor([t.k], seed: 53) : nil
            let y = conv2d(x, weight: w, bias: b, Conv2dConfig(padding: (1, 1), groups: t.groups))
            let expected = naiveConv(x, w, b, stride: 1, pad: 1, groups: t.groups)
            #expect(y.shape == [t.n, t.k, t.h, t.w])
            #expect(maxAbsDiff(y.data, expected) < 1e-5 * (1 + (expected.map(Swift.abs).max() ?? 0)), "\(t)")
        }

        /// ∂x, ∂W and ∂b equal the im2col path's: once with ∂x written over ∂Y (x's first
        /// gradient, when C = K), then added onto x's gradient by a second backward.
        @Test(arguments: cases, [1, 2])
        func backwardMatchesIm2col(_ t: Case, threads: Int) {
            Parallel.configure(threads: threads)
            defer { Parallel.configure(threads: 1) }
            func gradients(direct: Bool) -> (once: [[Float]], twice: [[Float]]) {
                DirectGroupedConvolution.enabled = direct
                defer { DirectGroupedConvolution.enabled = true }
                let x = randomTensor([t.n, t.c, t.h, t.w], seed: 61)
                let w = randomTensor([t.k, t.c / t.groups, 3, 3], seed: 62)
                let b = t.bias ? randomTensor([t.k], seed: 63) : nil
                var g = SeededGenerator(seed: 64)
                let seed = (0..<(t.n * t.k * t.h * t.w)).map { _ in g.uniform(-1, 1) }
                func step() -> [[Float]] {
                    conv2d(x, weight: w, bias: b, Conv2dConfig(padding: (1, 1), groups: t.groups)).backward(seed: seed)
                    return [x.grad!, w.grad!] + (b.map { [$0.grad!] } ?? [])
                }
                return (step(), step())
            }
            let direct = gradients(direct: true), reference = gradients(direct: false)
            for (pass, (a, r)) in [("first", (direct.once, reference.once)), ("second", (direct.twice, reference.twice))] {
                for (name, (d, e)) in zip(["x", "weight", "bias"], zip(a, r)) {
                    let scale = 1 + (e.map(Swift.abs).max() ?? 0)
                    #expect(maxAbsDiff(d, e) < 2e-5 * scale, "∂\(name), \(pass) backward, \(t)")
                }
            }
        }

        @Test(arguments: [Case(n: 2, c: 4, h: 5, w: 6, k: 8, groups: 2), Case(n: 3, c: 6, h: 4, w: 7, k: 3, groups: 3)])
        func gradientsMatchFiniteDifferences(_ t: Case) throws {
            #expect(DirectGroupedConvolution.applies(geometry(t), outChannels: t.k, groups: t.groups))
            let x = randomTensor([t.n, t.c, t.h, t.w], seed: 71)
            let w = randomTensor([t.k, t.c / t.groups, 3, 3], seed: 72)
            let b = randomTensor([t.k], seed: 73)
            try checkGradients([x, w, b]) { conv2d(x, weight: w, bias: b, Conv2dConfig(padding: (1, 1), groups: t.groups)) }
        }

        /// The kernel alone: the packed weights' order, and `adding` adds the sums (without bias)
        /// onto what the output held.
        @Test func kernelAddsOntoItsOutput() {
            let direct = Direct3x3Convolution(height: 5, width: 6)
            let cIn = 3, kOut = 5, hw = 30
            var rng = SeededGenerator(seed: 81)
            let x = (0..<(cIn * hw)).map { _ in rng.uniform(-1, 1) }
            let w = (0..<(kOut * cIn * 9)).map { _ in rng.uniform(-1, 1) }
            let bias = (0..<kOut).map { _ in rng.uniform(-1, 1) }
            let start = (0..<(kOut * hw)).map { _ in rng.uniform(-1, 1) }
            let packed = Direct3x3Convolution.packed(outChannels: kOut, inChannels: cIn) { k, c, t in w[(k * cIn + c) * 9 + t] }
            var planes = [Float](repeating: 0, count: cIn * direct.planeStride)
            var tile = [Float](repeating: 0, count: direct.tileCount)
            var set = start, added = start
            x.withUnsafeBufferPointer { px in planes.withUnsafeMutableBufferPointer { pp in
                direct.pad(px.baseAddress!, planes: cIn, sourceStride: hw, into: pp.baseAddress!)
            }}
            planes.withUnsafeBufferPointer { pp in packed.withUnsafeBufferPointer { pw in bias.withUnsafeBufferPointer { pb in
                tile.withUnsafeMutableBufferPointer { pt in
                    set.withUnsafeMutableBufferPointer { ps in
                        direct.correlate(pp.baseAddress!, inChannels: cIn, weights: pw.baseAddress!, outChannels: kOut, bias: pb.baseAddress!,
                                         into: ps.baseAddress!, outStride: hw, adding: false, tile: pt.baseAddress!)
                    }
                    added.withUnsafeMutableBufferPointer { pa in
                        direct.correlate(pp.baseAddress!, inChannels: cIn, weights: pw.baseAddress!, outChannels: kOut, bias: nil,
                                         into: pa.baseAddress!, outStride: hw, adding: true, tile: pt.baseAddress!)
                    }
                }
            }}}
            let xt = Tensor(shape: [1, cIn, 5, 6], data: x), wt = Tensor(shape: [kOut, cIn, 3, 3], data: w)
            let sums = naiveConv(xt, wt, nil, stride: 1, pad: 1, groups: 1)
            for i in 0..<(kOut * hw) {
                #expect(Swift.abs(set[i] - (sums[i] + bias[i / hw])) < 1e-5, "set \(i)")
                #expect(Swift.abs(added[i] - (start[i] + sums[i])) < 1e-5, "added \(i)")
            }
        }
    }
}
