/// A stride-1 3×3 convolution with padding 1 (the output map is the input's size) computed
/// directly from zero-padded planes, for layers with few channels per group (RegNet's and
/// ResNeXt's grouped 3×3 layers, 16 channels per group), where im2col writes nine copies of
/// every pixel to feed GEMMs of only 16 rows.
///
/// Every plane is stored padded, Wp = W + 2 floats per row, (H + 2) rows, and read flattened:
/// the output at q = oy·Wp + ox reads the padded input at q + i·Wp + j for tap (i, j), so
///   out[k, q] = b[k] + Σ_c Σ_{i,j<3} w[k, c, i, j] · in[c, q + i·Wp + j]
/// holds for every q < H·Wp at once, rows and row ends alike. The two positions per row with
/// ox ≥ W fall on padding and are computed and dropped (W/(W+2) of the work is kept: 92% at
/// 24×24, 86% at 12×12). One step takes 24 consecutive q (three vectors) for four output
/// channels: twelve sums sharing three loads of the input and four of the weights per tap.
///
/// The same kernel gives the backward of such a convolution: ∂x is the convolution of ∂Y
/// (padded the same way) with the weights transposed (k ↔ c) and flipped (tap t ↔ 8 − t), and
///   ∂w[k, c, i, j] = Σ_q ∂Y[k, q] · in[c, q + i·Wp + j]
/// runs over the same flattened positions, ∂Y being zero on the padding.
struct Direct3x3Convolution {
    /// The maps' size (input and output).
    let height: Int, width: Int

    var paddedWidth: Int { width + 2 }
    /// Flattened output positions the steps cover: H·Wp rounded up to whole steps of 24.
    var positions: Int { (height * paddedWidth + 23) / 24 * 24 }
    /// Floats from one padded plane to the next: its (H + 2)·Wp values and room for the reads
    /// of the last step (up to `positions` + 2·Wp + 2), rounded to 16 (64-byte aligned planes).
    var planeStride: Int { (positions + 2 * paddedWidth + 2 + 15) / 16 * 16 }
    /// Floats of the output tile `correlate` needs: four rows of `positions`.
    var tileCount: Int { 4 * positions }

    /// Whether a convolution is one of these: stride 1, a 3×3 kernel, padding 1, maps of at
    /// least 4×4 (on smaller ones the padding positions would be most of the work).
    static func applies(_ g: ConvGeometry) -> Bool {
        g.kernelH == 3 && g.kernelW == 3 && g.strideH == 1 && g.strideW == 1 && g.padH == 1 && g.padW == 1
            && g.height >= 4 && g.width >= 4
    }

    /// Copies `planes` planes of H·W values (`sourceStride` apart) into padded planes
    /// (`planeStride` apart) at row 1, column 1. The padding of `padded` must already be zero
    /// (it is never written here): zero the buffer once, then pad planes into it at will.
    func pad(_ source: UnsafePointer<Float>, planes: Int, sourceStride: Int, into padded: UnsafeMutablePointer<Float>) {
        for c in 0..<planes {
            let from = source + c &* sourceStride, to = padded + c &* planeStride + paddedWidth + 1
            for r in 0..<height { SIMDLoops.copy(to + r &* paddedWidth, from + r &* width, width) }
        }
    }

    /// Weights (K, C, 3, 3) in the order `correlate` reads them: blocks of four output channels,
    /// then input channel, then tap, the four channels' values side by side; channels beyond K
    /// are zeros. `value(k, c, t)` gives w[k, c, tap t = 3i + j].
    static func packed(outChannels k: Int, inChannels c: Int, _ value: (Int, Int, Int) -> Float) -> [Float] {
        let blocks = (k + 3) / 4
        var w = [Float](repeating: 0, count: blocks * c * 9 * 4)
        for kk in 0..<k { for cc in 0..<c { for t in 0..<9 {
            w[(((kk / 4) * c + cc) * 9 + t) * 4 + kk % 4] = value(kk, cc, t)
        }}}
        return w
    }

    /// out[k] (H·W values each, `outStride` apart) = bias[k] + Σ_c Σ_taps w[k, c, ·] · in[c]
    /// for k < `outChannels`, from `inChannels` padded planes and weights packed by `packed`;
    /// with `adding`, the sums (without bias) are added onto `out` instead. `tile` holds
    /// `tileCount` floats.
    func correlate(_ input: UnsafePointer<Float>, inChannels: Int, weights: UnsafePointer<Float>, outChannels: Int,
                   bias: UnsafePointer<Float>?, into out: UnsafeMutablePointer<Float>, outStride: Int, adding: Bool,
                   tile: UnsafeMutablePointer<Float>) {
        typealias V = SIMD8<Float>
        let wp = paddedWidth, steps = positions, tileRaw = UnsafeMutableRawPointer(tile)
        for k0 in stride(from: 0, to: outChannels, by: 4) {
            let live = Swift.min(4, outChannels &- k0)
            func first(_ r: Int) -> Float { bias.map { r < live ? $0[k0 &+ r] : 0 } ?? 0 }
            let s0 = V(repeating: first(0)), s1 = V(repeating: first(1))
            let s2 = V(repeating: first(2)), s3 = V(repeating: first(3))
            let block = weights + (k0 / 4) &* inChannels &* 36
            var q = 0
            while q < steps {
                var a0 = s0, b0 = s0, c0 = s0, a1 = s1, b1 = s1, c1 = s1
                var a2 = s2, b2 = s2, c2 = s2, a3 = s3, b3 = s3, c3 = s3
                for c in 0..<inChannels {
                    let plane = UnsafeRawPointer(input + (c &* planeStride &+ q))
                    let w = block + c &* 36
                    for i in 0..<3 {
                        for j in 0..<3 {
                            let at = (i &* wp &+ j) &* 4, t = (i &* 3 &+ j) &* 4
                            let u = plane.loadUnaligned(fromByteOffset: at, as: V.self)
                            let v = plane.loadUnaligned(fromByteOffset: at &+ 32, as: V.self)
                            let z = plane.loadUnaligned(fromByteOffset: at &+ 64, as: V.self)
                            let (w0, w1, w2, w3) = (w[t], w[t &+ 1], w[t &+ 2], w[t &+ 3])
                            a0 = SIMDLoops.multiplyAdd(a0, u, w0); b0 = SIMDLoops.multiplyAdd(b0, v, w0); c0 = SIMDLoops.multiplyAdd(c0, z, w0)
                            a1 = SIMDLoops.multiplyAdd(a1, u, w1); b1 = SIMDLoops.multiplyAdd(b1, v, w1); c1 = SIMDLoops.multiplyAdd(c1, z, w1)
                            a2 = SIMDLoops.multiplyAdd(a2, u, w2); b2 = SIMDLoops.multiplyAdd(b2, v, w2); c2 = SIMDLoops.multiplyAdd(c2, z, w2)
                            a3 = SIMDLoops.multiplyAdd(a3, u, w3); b3 = SIMDLoops.multiplyAdd(b3, v, w3); c3 = SIMDLoops.multiplyAdd(c3, z, w3)
                        }
                    }
                }
                let at = q &* 4, row = steps &* 4
                tileRaw.storeBytes(of: a0, toByteOffset: at, as: V.self)
                tileRaw.storeBytes(of: b0, toByteOffset: at &+ 32, as: V.self)
                tileRaw.storeBytes(of: c0, toByteOffset: at &+ 64, as: V.self)
                tileRaw.storeBytes(of: a1, toByteOffset: row &+ at, as: V.self)
                tileRaw.storeBytes(of: b1, toByteOffset: row &+ at &+ 32, as: V.self)
                tileRaw.storeBytes(of: c1, toByteOffset: row &+ at &+ 64, as: V.self)
                tileRaw.storeBytes(of: a2, toByteOffset: 2 &* row &+ at, as: V.self)
                tileRaw.storeBytes(of: b2, toByteOffset: 2 &* row &+ at &+ 32, as: V.self)
                tileRaw.storeBytes(of: c2, toByteOffset: 2 &* row &+ at &+ 64, as: V.self)
                tileRaw.storeBytes(of: a3, toByteOffset: 3 &* row &+ at, as: V.self)
                tileRaw.storeBytes(of: b3, toByteOffset: 3 &* row &+ at &+ 32, as: V.self)
                tileRaw.storeBytes(of: c3, toByteOffset: 3 &* row &+ at &+ 64, as: V.self)
                q &+= 24
            }
            // The W real positions of each row of the tile go to the output.
            for r in 0..<live {
                let dst = out + (k0 &+ r) &* outStride, src = tile + r &* steps
                for oy in 0..<height {
                    if adding {
                        SIMDLoops.add(dst + oy &* width, src + oy &* wp, width)
                    } else {
                        SIMDLoops.copy(dst + oy &* width, src + oy &* wp, width)
                    }
                }
            }
        }
    }

    /// ∂w[k, c, t] += Σ_q ∂Y[k, q] · in[c, q + i·Wp + j] for k < `outChannels`, c < `inChannels`,
    /// t = 3i + j, into `dw` (K, C, 9). `input` and `gradient` are padded planes (the gradient's
    /// padding zero); `gradient` must hold `outChannels` rounded up to four planes, the extra
    /// ones zero.
    func weightGradient(input: UnsafePointer<Float>, inChannels: Int, gradient: UnsafePointer<Float>, outChannels: Int,
                        into dw: UnsafeMutablePointer<Float>) {
        typealias V = SIMD8<Float>
        let wp = paddedWidth
        // Positions H·Wp rounded up to vectors: the extra ones read ∂Y's zero bottom padding.
        let count = (height * wp + 7) / 8 * 8
        for k0 in stride(from: 0, to: outChannels, by: 4) {
            let live = Swift.min(4, outChannels &- k0)
            let g0 = UnsafeRawPointer(gradient + (k0 &* planeStride &+ wp &+ 1))
            let bytes = planeStride &* 4
            let g1 = g0 + bytes, g2 = g1 + bytes, g3 = g2 + bytes
            for c in 0..<inChannels {
                for i in 0..<3 {
                    let row = UnsafeRawPointer(input + (c &* planeStride &+ i &* wp))
                    var a0 = V(), b0 = V(), c0 = V(), a1 = V(), b1 = V(), c1 = V()
                    var a2 = V(), b2 = V(), c2 = V(), a3 = V(), b3 = V(), c3 = V()
                    var q = 0
                    while q < count {
                        let at = q &* 4
                        let u = row.loadUnaligned(fromByteOffset: at, as: V.self)
                        let v = row.loadUnaligned(fromByteOffset: at &+ 4, as: V.self)
                        let z = row.loadUnaligned(fromByteOffset: at &+ 8, as: V.self)
                        let d0 = g0.loadUnaligned(fromByteOffset: at, as: V.self)
                        let d1 = g1.loadUnaligned(fromByteOffset: at, as: V.self)
                        let d2 = g2.loadUnaligned(fromByteOffset: at, as: V.self)
                        let d3 = g3.loadUnaligned(fromByteOffset: at, as: V.self)
                        a0 = SIMDLoops.multiplyAdd(a0, u, d0); b0 = SIMDLoops.multiplyAdd(b0, v, d0); c0 = SIMDLoops.multiplyAdd(c0, z, d0)
                        a1 = SIMDLoops.multiplyAdd(a1, u, d1); b1 = SIMDLoops.multiplyAdd(b1, v, d1); c1 = SIMDLoops.multiplyAdd(c1, z, d1)
                        a2 = SIMDLoops.multiplyAdd(a2, u, d2); b2 = SIMDLoops.multiplyAdd(b2, v, d2); c2 = SIMDLoops.multiplyAdd(c2, z, d2)
                        a3 = SIMDLoops.multiplyAdd(a3, u, d3); b3 = SIMDLoops.multiplyAdd(b3, v, d3); c3 = SIMDLoops.multiplyAdd(c3, z, d3)
                        q &+= 8
                    }
                    let to = dw + ((k0 &* inChannels &+ c) &* 9 &+ i &* 3), next = inChannels &* 9
                    to[0] += a0.sum(); to[1] += b0.sum(); to[2] += c0.sum()
                    if live > 1 { to[next] += a1.sum(); to[next &+ 1] += b1.sum(); to[next &+ 2] += c1.sum() }
                    if live > 2 { let t = to + 2 &* next; t[0] += a2.sum(); t[1] += b2.sum(); t[2] += c2.sum() }
                    if live > 3 { let t = to + 3 &* next; t[0] += a3.sum(); t[1] += b3.sum(); t[2] += c3.sum() }
                }
            }
        }
    }
}
