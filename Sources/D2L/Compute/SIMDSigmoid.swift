/// The logistic function σ(x) = 1 / (1 + e⁻ˣ) on eight values at once, and its gradient.
///
/// Foundation's `exp` is a scalar libm call, and BN-LeNet's sigmoids make it a large share of
/// that network's training step. Here e⁻ˣ is computed for
/// eight lanes together with Cephes' single-precision method:
///   e^v = 2ⁿ · e^r,  n = round(v / ln 2),  r = v − n·ln 2 ∈ [−ln2/2, ln2/2],
/// with ln 2 split in two parts (n·ln2_hi is exact for |n| ≤ 128, so r keeps its low bits),
/// e^r from a degree-7 polynomial (relative error about 1e-7, a few ulp), and 2ⁿ built
/// directly as the float's exponent bits. Its steps are fused multiply-adds where the build
/// targets FMA (`multiplyAdd`), which halves the instructions on the sigmoid's critical path.
/// Every value, the tail of a buffer included, takes the same path, so the result does not
/// depend on where an element sits.
extension SIMDLoops {
    /// e^v for v clamped to [−87, 88], where 2ⁿ stays a normal float. Lanes must not be NaN.
    @inline(__always)
    static func clampedExponential(_ v: SIMD8<Float>) -> SIMD8<Float> {
        var v = v.replacing(with: 88, where: v .> 88)
        v.replace(with: -87, where: v .< -87)
        // Adding 1.5·2²³ rounds v/ln2 to the nearest integer n, which then sits in the
        // mantissa's low bits: the bit patterns differ by exactly n.
        let shifter = SIMD8<Float>(repeating: 12_582_912)
        let t = multiplyAdd(shifter, v, SIMD8(repeating: 1.442_695_04))
        let n = t - shifter
        let r = multiplyAdd(multiplyAdd(v, n, SIMD8(repeating: -0.693_359_375)), n, SIMD8(repeating: 2.121_944_4e-4))
        var p = SIMD8<Float>(repeating: 1.987_569_15e-4)
        p = multiplyAdd(SIMD8(repeating: 1.398_199_95e-3), p, r)
        p = multiplyAdd(SIMD8(repeating: 8.333_451_9e-3), p, r)
        p = multiplyAdd(SIMD8(repeating: 4.166_579_59e-2), p, r)
        p = multiplyAdd(SIMD8(repeating: 0.166_666_655), p, r)
        p = multiplyAdd(SIMD8(repeating: 0.500_000_012), p, r)
        let er = multiplyAdd(r, p, r * r) + SIMD8(repeating: 1)
        let exponent = unsafeBitCast(t, to: SIMD8<Int32>.self) &- unsafeBitCast(shifter, to: SIMD8<Int32>.self)
        let twoToN = unsafeBitCast((exponent &+ 127) &<< 23, to: SIMD8<Float>.self)
        return er * twoToN
    }

    /// σ(x) lane by lane. Beyond |x| = 87 the result is 1 or at most 1e-38 (σ itself is then
    /// within 1e-38 of those); NaN stays NaN.
    @inline(__always)
    static func sigmoid(_ x: SIMD8<Float>) -> SIMD8<Float> {
        let isNaN = x .!= x
        let e = clampedExponential((-x).replacing(with: 0, where: isNaN))
        return (SIMD8(repeating: 1) / (SIMD8(repeating: 1) + e)).replacing(with: x, where: isNaN)
    }

    /// y[j] = σ(x[j]) for j < n; y may be x.
    @inline(__always)
    static func sigmoid(_ x: UnsafePointer<Float>, _ n: Int, into y: UnsafeMutablePointer<Float>) {
        let rx = UnsafeRawPointer(x), ry = UnsafeMutableRawPointer(y)
        var j = 0
        while j &+ 8 <= n {
            ry.storeBytes(of: sigmoid(rx.loadUnaligned(fromByteOffset: j &* 4, as: SIMD8<Float>.self)),
                          toByteOffset: j &* 4, as: SIMD8<Float>.self)
            j &+= 8
        }
        if j < n {
            var tail = SIMD8<Float>()
            for i in 0..<(n &- j) { tail[i] = x[j &+ i] }
            let s = sigmoid(tail)
            for i in 0..<(n &- j) { y[j &+ i] = s[i] }
        }
    }

    /// g[j] ← g[j]·y[j]·(1 − y[j]) for j < n, with y = σ(x): the sigmoid's backward in place.
    @inline(__always)
    static func sigmoidGradient(_ g: UnsafeMutablePointer<Float>, output y: UnsafePointer<Float>, _ n: Int) {
        let rg = UnsafeMutableRawPointer(g), ry = UnsafeRawPointer(y)
        let one = SIMD8<Float>(repeating: 1)
        var j = 0
        while j &+ 8 <= n {
            let yv = ry.loadUnaligned(fromByteOffset: j &* 4, as: SIMD8<Float>.self)
            let gv = UnsafeRawPointer(rg).loadUnaligned(fromByteOffset: j &* 4, as: SIMD8<Float>.self)
            rg.storeBytes(of: gv * yv * (one - yv), toByteOffset: j &* 4, as: SIMD8<Float>.self)
            j &+= 8
        }
        while j < n { g[j] = g[j] * y[j] * (1 - y[j]); j &+= 1 }
    }
}
