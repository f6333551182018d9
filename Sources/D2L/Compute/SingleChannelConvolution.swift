/// A stride-1 convolution of one-channel images (a network's first layer on grey images:
/// LeNet's 5×5, VGG's first 3×3) computed directly, without a column matrix:
///   y[k, oy, ox] = b[k] + Σ_{i<kh, j<kw} w[k, i, j] · x̃[oy + i, ox + j],
/// x̃ being the image zero-padded by (ph, pw). im2col would write kh·kw copies of every pixel
/// to feed a GEMM with only K rows; here eight outputs of a row are one vector, and four
/// output channels share every load of the image.
///
/// Shapes: x (H, W) per image, weights (K, kh·kw), y (K, OH·OW) per image.
struct SingleChannelConvolution {
    let geometry: ConvGeometry
    let outChannels: Int
    /// Output channels rounded up to a multiple of the four computed together.
    var paddedChannels: Int { (outChannels + 3) / 4 * 4 }
    private var paddedWidth: Int { geometry.width + 2 * geometry.padW }
    private var paddedHeight: Int { geometry.height + 2 * geometry.padH }
    /// Floats of scratch per worker: the padded image, and 24 more for the reads of the last
    /// step, which may reach past the image (into values it does not store).
    var scratchCount: Int { paddedHeight * paddedWidth + 24 }

    /// Whether the direct kernel computes this convolution: one input channel, no groups,
    /// stride 1, every kernel tap live, and rows of at least eight outputs.
    static func applies(_ g: ConvGeometry, groups: Int) -> Bool {
        groups == 1 && g.channels == 1 && g.strideH == 1 && g.strideW == 1 && !g.isCompact && g.outW >= 8
    }

    /// The weights (K, kh·kw) and bias as the kernel reads them: rows padded with zeros to
    /// `paddedChannels`, and the bias (zeros without one) alongside.
    func packed(weights: [Float], bias: [Float]?) -> (weights: [Float], bias: [Float]) {
        let taps = geometry.kernelH * geometry.kernelW
        var w = [Float](repeating: 0, count: paddedChannels * taps)
        w.replaceSubrange(0..<(outChannels * taps), with: weights)
        var b = [Float](repeating: 0, count: paddedChannels)
        if let bias { b.replaceSubrange(0..<outChannels, with: bias) }
        return (w, b)
    }

    /// One image: `x` (H, W) into `y` (K, OH·OW), with the packed weights and bias. Each step
    /// computes 24 outputs of a row (three vectors) for four channels: twelve sums that share
    /// three loads of the image and four of the weights per tap.
    func forward(image x: UnsafePointer<Float>, weights w: UnsafePointer<Float>, bias b: UnsafePointer<Float>,
                 into y: UnsafeMutablePointer<Float>, scratch plane: UnsafeMutablePointer<Float>) {
        let g = geometry, wp = paddedWidth, kh = g.kernelH, kw = g.kernelW, taps = kh &* kw
        let oh = g.outH, ow = g.outW, p = g.outPixels
        pad(x, into: plane)
        let raw = UnsafeRawPointer(plane)
        typealias V = SIMD8<Float>
        for k0 in stride(from: 0, to: outChannels, by: 4) {
            let w0 = w + k0 &* taps, w1 = w0 + taps, w2 = w1 + taps, w3 = w2 + taps
            let live = Swift.min(4, outChannels &- k0)
            for oy in 0..<oh {
                var ox = 0
                while ox < ow {
                    let bias0 = V(repeating: b[k0]), bias1 = V(repeating: b[k0 &+ 1])
                    let bias2 = V(repeating: b[k0 &+ 2]), bias3 = V(repeating: b[k0 &+ 3])
                    var a0 = bias0, b0 = bias0, c0 = bias0, a1 = bias1, b1 = bias1, c1 = bias1
                    var a2 = bias2, b2 = bias2, c2 = bias2, a3 = bias3, b3 = bias3, c3 = bias3
                    for i in 0..<kh {
                        let row = ((oy &+ i) &* wp &+ ox) &* 4
                        for j in 0..<kw {
                            let at = row &+ 4 &* j, t = i &* kw &+ j
                            let u = raw.loadUnaligned(fromByteOffset: at, as: V.self)
                            let v = raw.loadUnaligned(fromByteOffset: at &+ 32, as: V.self)
                            let z = raw.loadUnaligned(fromByteOffset: at &+ 64, as: V.self)
                            let (s0, s1, s2, s3) = (w0[t], w1[t], w2[t], w3[t])
                            a0 = SIMDLoops.multiplyAdd(a0, u, s0); b0 = SIMDLoops.multiplyAdd(b0, v, s0); c0 = SIMDLoops.multiplyAdd(c0, z, s0)
                            a1 = SIMDLoops.multiplyAdd(a1, u, s1); b1 = SIMDLoops.multiplyAdd(b1, v, s1); c1 = SIMDLoops.multiplyAdd(c1, z, s1)
                            a2 = SIMDLoops.multiplyAdd(a2, u, s2); b2 = SIMDLoops.multiplyAdd(b2, v, s2); c2 = SIMDLoops.multiplyAdd(c2, z, s2)
                            a3 = SIMDLoops.multiplyAdd(a3, u, s3); b3 = SIMDLoops.multiplyAdd(b3, v, s3); c3 = SIMDLoops.multiplyAdd(c3, z, s3)
                        }
                    }
                    let left = ow &- ox, offset = k0 &* p &+ oy &* ow &+ ox
                    let at = y + offset
                    store(a0, b0, c0, at, left)
                    if live > 1 { store(a1, b1, c1, at + p, left) }
                    if live > 2 { store(a2, b2, c2, at + (2 &* p), left) }
                    if live > 3 { store(a3, b3, c3, at + (3 &* p), left) }
                    ox &+= 24
                }
            }
        }
    }

    /// The image x (H, W) zero-padded into `plane` (`scratchCount` floats, the slack zero too).
    private func pad(_ x: UnsafePointer<Float>, into plane: UnsafeMutablePointer<Float>) {
        let g = geometry, wp = paddedWidth
        SIMDLoops.zero(plane, scratchCount)
        for r in 0..<g.height { SIMDLoops.copy(plane + ((r &+ g.padH) &* wp &+ g.padW), x + r &* g.width, g.width) }
    }

    /// Floats of the flattened gradient planes `weightGradient` reads: per output channel,
    /// OH rows of Wp (the output's OW values, then zeros), rounded up to whole vectors; channels
    /// rounded up to the two computed together (the extra plane zero).
    var gradientScratchCount: Int { (outChannels + 1) / 2 * 2 * gradientPlaneStride }
    private var gradientPlaneStride: Int { (geometry.outH * paddedWidth + 7) / 8 * 8 }

    /// ∂w[k, t] += Σ_{oy, ox} ∂y[k, oy, ox] · x̃[oy + i, ox + j] for tap t = i·kw + j, and
    /// ∂b[k] += Σ ∂y[k], for one image: `x` (H, W), `dy` (K, OH·OW), into `dw` (K, kh·kw) and
    /// `db` (K). The sums run over flattened positions q = oy·Wp + ox of the padded image as in
    /// `Direct3x3Convolution`: ∂y is laid out in rows of Wp with zeros past OW (`gradient`, of
    /// `gradientScratchCount` floats, zeroed by the caller once before the first image; only the
    /// first OW values of each row are written), so tap t reads the padded image at q + i·Wp + j.
    /// Two channels and five taps at a time: ten sums sharing two loads of ∂y and five of x̃.
    func weightGradient(image x: UnsafePointer<Float>, dy: UnsafePointer<Float>, into dw: UnsafeMutablePointer<Float>,
                        biasInto db: UnsafeMutablePointer<Float>?, scratch plane: UnsafeMutablePointer<Float>,
                        gradient flat: UnsafeMutablePointer<Float>) {
        let g = geometry, wp = paddedWidth, kw = g.kernelW, taps = g.kernelH &* kw
        let oh = g.outH, ow = g.outW, p = g.outPixels, planeStride = gradientPlaneStride
        pad(x, into: plane)
        for k in 0..<outChannels {
            let from = dy + k &* p
            if let db { db[k] += SIMDLoops.sum(from, p) }
            for oy in 0..<oh { SIMDLoops.copy(flat + (k &* planeStride &+ oy &* wp), from + oy &* ow, ow) }
        }
        typealias V = SIMD8<Float>
        let image = UnsafeRawPointer(plane)
        /// The flattened offset of tap t in the padded image; taps past the last repeat it (their
        /// sums are dropped).
        func shift(_ t: Int) -> Int { let u = Swift.min(t, taps &- 1); return (u / kw) &* wp &+ u % kw }
        for k0 in stride(from: 0, to: outChannels, by: 2) {
            let d0 = UnsafeRawPointer(flat + k0 &* planeStride), d1 = UnsafeRawPointer(flat + (k0 &+ 1) &* planeStride)
            for t0 in stride(from: 0, to: taps, by: 5) {
                let s0 = shift(t0) &* 4, s1 = shift(t0 &+ 1) &* 4, s2 = shift(t0 &+ 2) &* 4
                let s3 = shift(t0 &+ 3) &* 4, s4 = shift(t0 &+ 4) &* 4
                var a0 = V(), a1 = V(), a2 = V(), a3 = V(), a4 = V()
                var b0 = V(), b1 = V(), b2 = V(), b3 = V(), b4 = V()
                var q = 0
                while q < planeStride {
                    let at = q &* 4
                    let u = d0.loadUnaligned(fromByteOffset: at, as: V.self), v = d1.loadUnaligned(fromByteOffset: at, as: V.self)
                    let x0 = image.loadUnaligned(fromByteOffset: at &+ s0, as: V.self)
                    let x1 = image.loadUnaligned(fromByteOffset: at &+ s1, as: V.self)
                    let x2 = image.loadUnaligned(fromByteOffset: at &+ s2, as: V.self)
                    let x3 = image.loadUnaligned(fromByteOffset: at &+ s3, as: V.self)
                    let x4 = image.loadUnaligned(fromByteOffset: at &+ s4, as: V.self)
                    a0 = SIMDLoops.multiplyAdd(a0, x0, u); a1 = SIMDLoops.multiplyAdd(a1, x1, u); a2 = SIMDLoops.multiplyAdd(a2, x2, u)
                    a3 = SIMDLoops.multiplyAdd(a3, x3, u); a4 = SIMDLoops.multiplyAdd(a4, x4, u)
                    b0 = SIMDLoops.multiplyAdd(b0, x0, v); b1 = SIMDLoops.multiplyAdd(b1, x1, v); b2 = SIMDLoops.multiplyAdd(b2, x2, v)
                    b3 = SIMDLoops.multiplyAdd(b3, x3, v); b4 = SIMDLoops.multiplyAdd(b4, x4, v)
                    q &+= 8
                }
                let live = Swift.min(5, taps &- t0)
                func add(_ sums: (V, V, V, V, V), channel k: Int) {
                    let to = dw + (k &* taps &+ t0)
                    to[0] += sums.0.sum()
                    if live > 1 { to[1] += sums.1.sum() }
                    if live > 2 { to[2] += sums.2.sum() }
                    if live > 3 { to[3] += sums.3.sum() }
                    if live > 4 { to[4] += sums.4.sum() }
                }
                add((a0, a1, a2, a3, a4), channel: k0)
                if k0 &+ 1 < outChannels { add((b0, b1, b2, b3, b4), channel: k0 &+ 1) }
            }
        }
    }

    /// The first `count` (up to 24) of the values u, v, z (eight each) at `out`.
    @inline(__always)
    private func store(_ u: SIMD8<Float>, _ v: SIMD8<Float>, _ z: SIMD8<Float>, _ out: UnsafeMutablePointer<Float>, _ count: Int) {
        store(u, out, Swift.min(count, 8))
        if count > 8 { store(v, out + 8, Swift.min(count &- 8, 8)) }
        if count > 16 { store(z, out + 16, Swift.min(count &- 16, 8)) }
    }

    /// The first `lanes` values of `v` at `out`.
    @inline(__always)
    private func store(_ v: SIMD8<Float>, _ out: UnsafeMutablePointer<Float>, _ lanes: Int) {
        if lanes == 8 {
            UnsafeMutableRawPointer(out).storeBytes(of: v, as: SIMD8<Float>.self)
        } else {
            for l in 0..<lanes { out[l] = v[l] }
        }
    }
}
