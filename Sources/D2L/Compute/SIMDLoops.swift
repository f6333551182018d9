/// Loops over contiguous Float vectors written with SIMD values (SIMD8; SIMD4 for short
/// rows), for the element-wise and reduction loops the compiler left scalar (batch norm's and
/// ReLU's loops are a large share of a training step of the networks that use them).
///
/// Two reasons a plain loop stays scalar. A sum `for j in 0..<n { s += p[j] }` is a chain of
/// dependent additions whose order Swift keeps, so it may not be vectorised and each addition
/// waits for the previous one; sixteen partial sums in two SIMD8 accumulators remove both
/// limits (the result differs from the sequential sum only by rounding). And a loop writing
/// through one pointer while reading through others may alias, so LLVM kept those scalar too.
enum SIMDLoops {
    /// a + v·w lane by lane (w a scalar or a vector): one fused multiply-add per lane where the
    /// build targets FMA, else a product and a sum (a fused one would be a slow library call
    /// there). The direct convolution kernels' inner step.
    @inline(__always)
    static func multiplyAdd(_ a: SIMD8<Float>, _ v: SIMD8<Float>, _ w: Float) -> SIMD8<Float> {
        multiplyAdd(a, v, SIMD8(repeating: w))
    }

    @inline(__always)
    static func multiplyAdd(_ a: SIMD8<Float>, _ v: SIMD8<Float>, _ w: SIMD8<Float>) -> SIMD8<Float> {
        #if D2L_AVX2
        a.addingProduct(v, w)
        #else
        a + v * w
        #endif
    }

    /// Σ p[j] for j < n.
    @inline(__always)
    static func sum(_ p: UnsafePointer<Float>, _ n: Int) -> Float {
        let raw = UnsafeRawPointer(p)
        var a = SIMD8<Float>(), b = SIMD8<Float>()
        var j = 0
        while j &+ 16 <= n {
            a += raw.loadUnaligned(fromByteOffset: j &* 4, as: SIMD8<Float>.self)
            b += raw.loadUnaligned(fromByteOffset: (j &+ 8) &* 4, as: SIMD8<Float>.self)
            j &+= 16
        }
        var s = (a + b).sum()
        while j < n { s += p[j]; j &+= 1 }
        return s
    }

    /// dst[j] = src[j] for j < n. The rows copied in the kernels are short (7–64 floats), where
    /// a call to memmove costs more than the copy itself.
    @inline(__always)
    static func copy(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ n: Int) {
        let to = UnsafeMutableRawPointer(dst), from = UnsafeRawPointer(src)
        var j = 0
        while j &+ 8 <= n {
            to.storeBytes(of: from.loadUnaligned(fromByteOffset: j &* 4, as: SIMD8<Float>.self), toByteOffset: j &* 4, as: SIMD8<Float>.self)
            j &+= 8
        }
        if j &+ 4 <= n {
            to.storeBytes(of: from.loadUnaligned(fromByteOffset: j &* 4, as: SIMD4<Float>.self), toByteOffset: j &* 4, as: SIMD4<Float>.self)
            j &+= 4
        }
        while j < n { dst[j] = src[j]; j &+= 1 }
    }

    /// p[j] = 0 for j < n, inline (`update(repeating:count:)` compiles to a loop of scalar
    /// stores; im2col's zero runs are short and usually empty, where a call to memset per image
    /// and tap measured slower).
    @inline(__always)
    static func zero(_ p: UnsafeMutablePointer<Float>, _ n: Int) { fill(p, n, with: 0) }

    /// p[j] = v for j < n, eight at a time (zero runs; a convolution's bias as the GEMM's starting C).
    @inline(__always)
    static func fill(_ p: UnsafeMutablePointer<Float>, _ n: Int, with v: Float) {
        let raw = UnsafeMutableRawPointer(p), vv = SIMD8<Float>(repeating: v)
        var j = 0
        while j &+ 8 <= n { raw.storeBytes(of: vv, toByteOffset: j &* 4, as: SIMD8<Float>.self); j &+= 8 }
        while j < n { p[j] = v; j &+= 1 }
    }

    /// Σ (p[j] − μ)² for j < n.
    @inline(__always)
    static func sumOfSquaredDeviations(_ p: UnsafePointer<Float>, _ n: Int, from mu: Float) -> Float {
        let raw = UnsafeRawPointer(p), m = SIMD8<Float>(repeating: mu)
        var a = SIMD8<Float>(), b = SIMD8<Float>()
        var j = 0
        while j &+ 16 <= n {
            let d0 = raw.loadUnaligned(fromByteOffset: j &* 4, as: SIMD8<Float>.self) - m
            let d1 = raw.loadUnaligned(fromByteOffset: (j &+ 8) &* 4, as: SIMD8<Float>.self) - m
            a += d0 * d0; b += d1 * d1
            j &+= 16
        }
        var s = (a + b).sum()
        while j < n { let d = p[j] - mu; s += d * d; j &+= 1 }
        return s
    }

    /// (Σ g[j], Σ g[j]·(x[j] − μ)) for j < n: batch norm's backward reductions. With a `gate`
    /// (the affine y = x·scale + shift that a ReLU followed), g[j] counts only where y[j] > 0:
    /// the ReLU's backward folded in (`batchNorm(relu: true)`).
    @inline(__always)
    static func sumAndCenteredDot(_ g: UnsafePointer<Float>, _ x: UnsafePointer<Float>, _ n: Int,
                                  mean mu: Float, gate: ReLUGate? = nil) -> (Float, Float) {
        let rg = UnsafeRawPointer(g), rx = UnsafeRawPointer(x), m = SIMD8<Float>(repeating: mu)
        var s = SIMD8<Float>(), d = SIMD8<Float>()
        var j = 0
        while j &+ 8 <= n {
            var gv = rg.loadUnaligned(fromByteOffset: j &* 4, as: SIMD8<Float>.self)
            let xv = rx.loadUnaligned(fromByteOffset: j &* 4, as: SIMD8<Float>.self)
            if let gate { gv = gate.apply(gv, xv) }
            s += gv; d += gv * (xv - m)
            j &+= 8
        }
        var sum = s.sum(), dot = d.sum()
        while j < n {
            let gj = gate.map { $0.apply(g[j], x[j]) } ?? g[j]
            sum += gj; dot += gj * (x[j] - mu); j &+= 1
        }
        return (sum, dot)
    }

    /// A ReLU after the affine y = x·scale + shift, seen from its input x: the gradient passes
    /// where y > 0 (as `relu`'s mask), y computed exactly as `affine` computes it.
    struct ReLUGate {
        let scale: Float, shift: Float
        @inline(__always) func apply(_ g: SIMD8<Float>, _ x: SIMD8<Float>) -> SIMD8<Float> {
            g.replacing(with: 0, where: .!(x * SIMD8(repeating: scale) + SIMD8(repeating: shift) .> 0))
        }
        @inline(__always) func apply(_ g: Float, _ x: Float) -> Float { x * scale + shift > 0 ? g : 0 }
    }

    /// dst[k] += src[k] for k < n, four at a time then one at a time (col2im's rows are short:
    /// 7–32 floats, where wider steps leave most of a row to the scalar tail).
    @inline(__always)
    static func add(_ dst: UnsafeMutablePointer<Float>, _ src: UnsafePointer<Float>, _ n: Int) {
        var k = 0
        while k &+ 4 <= n {
            let d = UnsafeMutableRawPointer(dst + k)
            d.storeBytes(of: d.loadUnaligned(as: SIMD4<Float>.self) + UnsafeRawPointer(src + k).loadUnaligned(as: SIMD4<Float>.self),
                         as: SIMD4<Float>.self)
            k &+= 4
        }
        while k < n { dst[k] += src[k]; k &+= 1 }
    }

    /// y[j] = x[j]·a + b for j < n (batch norm's normalisation with a folded scale and shift);
    /// with `rectify`, max(x[j]·a + b, 0): batch norm and the ReLU after it in one pass, each
    /// value computed as `relu` would compute it from the affine's output (NaN stays NaN).
    @inline(__always)
    static func affine(_ x: UnsafePointer<Float>, _ n: Int, scale a: Float, shift b: Float, rectify: Bool = false,
                       into y: UnsafeMutablePointer<Float>) {
        let rx = UnsafeRawPointer(x), ry = UnsafeMutableRawPointer(y)
        let av = SIMD8<Float>(repeating: a), bv = SIMD8<Float>(repeating: b)
        var j = 0
        while j &+ 8 <= n {
            let v = rx.loadUnaligned(fromByteOffset: j &* 4, as: SIMD8<Float>.self) * av + bv
            ry.storeBytes(of: rectify ? rectified(v) : v, toByteOffset: j &* 4, as: SIMD8<Float>.self)
            j &+= 8
        }
        while j < n { let v = x[j] * a + b; y[j] = rectify ? rectified(v) : v; j &+= 1 }
    }

    /// max(v, 0) as every ReLU here computes it (`relu`, `affine(rectify:)`): NaN stays NaN, −0
    /// becomes 0, as `Swift.max(v, 0)`. A select, not a branch: random signs mispredict.
    @inline(__always) static func rectified(_ v: SIMD8<Float>) -> SIMD8<Float> { v.replacing(with: 0, where: v .<= 0) }
    @inline(__always) static func rectified(_ v: Float) -> Float { v <= 0 ? 0 : v }

    /// dx[j] (+)= c·(dy[j] − a − (x[j] − μ)·r·b) for j < n: batch norm's input gradient in
    /// training mode, with c = γ·r, a = mean(∂y), b = mean(∂y·x̂). With a = b = 0 it is the
    /// evaluation-mode gradient γ·r·dy. Adds into dx when `accumulate`, else overwrites it;
    /// dx may be dy itself (each element is read before it is written). With a `gate`, dy[j]
    /// counts only where the gate passes (see `sumAndCenteredDot`).
    @inline(__always)
    static func batchNormGradient(into dx: UnsafeMutablePointer<Float>, _ dy: UnsafePointer<Float>, _ x: UnsafePointer<Float>,
                                  _ n: Int, mean mu: Float, rstd r: Float, scale c: Float, a: Float, b: Float,
                                  gate: ReLUGate? = nil, accumulate: Bool) {
        let rdx = UnsafeMutableRawPointer(dx), rdy = UnsafeRawPointer(dy), rx = UnsafeRawPointer(x)
        let muv = SIMD8<Float>(repeating: mu), rbv = SIMD8<Float>(repeating: r * b)
        let av = SIMD8<Float>(repeating: a), cv = SIMD8<Float>(repeating: c)
        var j = 0
        while j &+ 8 <= n {
            let o = j &* 4
            let xv = rx.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
            var gv = rdy.loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self)
            if let gate { gv = gate.apply(gv, xv) }
            let value = cv * (gv - av - (xv - muv) * rbv)
            let acc = accumulate ? UnsafeRawPointer(rdx).loadUnaligned(fromByteOffset: o, as: SIMD8<Float>.self) : SIMD8<Float>()
            rdx.storeBytes(of: accumulate ? acc + value : value, toByteOffset: o, as: SIMD8<Float>.self)
            j &+= 8
        }
        while j < n {
            let value = c * ((gate.map { $0.apply(dy[j], x[j]) } ?? dy[j]) - a - (x[j] - mu) * r * b)
            dx[j] = accumulate ? dx[j] + value : value
            j &+= 1
        }
    }

    /// The weight of each lane in a mask byte: lane i is bit i.
    private static let laneBits = SIMD8<Int32>(1, 2, 4, 8, 16, 32, 64, 128)

    /// y[j] = max(x[j], 0) for j < n (NaN stays NaN, −0 becomes 0, as `Swift.max(x, 0)`), and
    /// with a mask, bit j % 8 of mask[j / 8] set exactly where x[j] > 0; the last byte's spare
    /// bits are 0. Selects instead of branches, which random signs mispredict half the time.
    @inline(__always)
    static func relu(_ x: UnsafePointer<Float>, _ n: Int, into y: UnsafeMutablePointer<Float>, mask: UnsafeMutablePointer<UInt8>?) {
        let rx = UnsafeRawPointer(x), ry = UnsafeMutableRawPointer(y)
        let zero = SIMD8<Float>()
        var j = 0
        while j &+ 8 <= n {
            let xv = rx.loadUnaligned(fromByteOffset: j &* 4, as: SIMD8<Float>.self)
            ry.storeBytes(of: rectified(xv), toByteOffset: j &* 4, as: SIMD8<Float>.self)
            if let mask {
                mask[j &>> 3] = UInt8(truncatingIfNeeded: SIMD8<Int32>().replacing(with: laneBits, where: xv .> zero).wrappedSum())
            }
            j &+= 8
        }
        if j < n {
            var bits: UInt8 = 0
            for i in 0..<(n &- j) {
                let v = x[j &+ i]
                y[j &+ i] = rectified(v)
                if v > 0 { bits |= UInt8(1) << UInt8(i) }
            }
            mask?[j &>> 3] = bits
        }
    }

    /// g[j] = 0 where bit j % 8 of mask[j / 8] is clear, for j < n: ReLU's backward in place.
    @inline(__always)
    static func mask(_ g: UnsafeMutablePointer<Float>, _ n: Int, by mask: UnsafePointer<UInt8>) {
        let rg = UnsafeMutableRawPointer(g)
        let zero = SIMD8<Float>(), none = SIMD8<Int32>()
        var j = 0
        while j &+ 8 <= n {
            let lanes = SIMD8<Int32>(repeating: Int32(mask[j &>> 3])) & laneBits
            let gv = UnsafeRawPointer(rg).loadUnaligned(fromByteOffset: j &* 4, as: SIMD8<Float>.self)
            rg.storeBytes(of: zero.replacing(with: gv, where: lanes .!= none), toByteOffset: j &* 4, as: SIMD8<Float>.self)
            j &+= 8
        }
        while j < n {
            if mask[j &>> 3] & (UInt8(1) << UInt8(j & 7)) == 0 { g[j] = 0 }
            j &+= 1
        }
    }
}
