import Testing
@testable import D2L

/// Random tensor with values in [lo, hi), from a fixed seed.
func randomTensor(_ shape: [Int], seed: UInt64, _ lo: Float = -1, _ hi: Float = 1, requiresGrad: Bool = true) -> Tensor {
    var g = SeededGenerator(seed: seed)
    let t = Tensor(shape: shape, data: (0..<shape.elementCount).map { _ in g.uniform(lo, hi) })
    t.requiresGrad = requiresGrad
    return t
}

/// Largest |a − b| over two equally long arrays.
func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count, "\(a.count) vs \(b.count) values")
    return zip(a, b).map { Swift.abs($0 - $1) }.max() ?? 0
}

/// Checks the gradients autograd computes for `inputs` against central finite differences.
///
/// The scalar checked is L = Σ wᵢ·yᵢ with fixed random weights w (so every output element
/// matters), accumulated in Double: ∂L/∂x ≈ (L(x + ε) − L(x − ε)) / 2ε. Up to `samples`
/// elements of each input are checked. Passes when |analytic − numeric| ≤ atol + rtol·|numeric|.
///
/// `skipKinks`: networks with many ReLUs after batch norm put some ReLU input within ε of 0 for
/// a few elements, and there a central difference measures a mix of two slopes. With this flag
/// an element whose two one-sided differences (L(x+ε) − L(x))/ε and (L(x) − L(x−ε))/ε disagree
/// beyond the tolerance is skipped (the loss is not smooth there), at most a quarter of them;
/// a wrong gradient of a smooth function still fails, since there both sides agree.
func checkGradients(_ inputs: [Tensor], eps: Float = 1e-2, rtol: Double = 2e-2, atol: Double = 2e-3,
                    samples: Int = 40, skipKinks: Bool = false, sourceLocation: SourceLocation = #_sourceLocation,
                    _ f: () throws -> Tensor) throws {
    for t in inputs { t.zeroGrad() }
    let y = try f()
    var g = SeededGenerator(seed: 99)
    let w = (0..<y.count).map { _ in g.uniform(-1, 1) }
    y.backward(seed: w)
    func loss() throws -> Double {
        let out = try GradMode.withoutGrad { try f() }
        return zip(out.data, w).reduce(0.0) { $0 + Double($1.0) * Double($1.1) }
    }
    let center = skipKinks ? try loss() : 0
    var checked = 0, skipped = 0
    for (which, t) in inputs.enumerated() {
        let analytic = t.grad ?? [Float](repeating: 0, count: t.count)
        let stride = Swift.max(1, t.count / samples)
        for i in Swift.stride(from: 0, to: t.count, by: stride) {
            let saved = t.data[i]
            t.data[i] = saved + eps; let plus = try loss()
            t.data[i] = saved - eps; let minus = try loss()
            t.data[i] = saved
            let numeric = (plus - minus) / (2 * Double(eps))
            let a = Double(analytic[i])
            checked += 1
            if skipKinks {
                let right = (plus - center) / Double(eps), left = (center - minus) / Double(eps)
                if Swift.abs(right - left) > atol + rtol * Swift.abs(numeric) { skipped += 1; continue }
            }
            #expect(Swift.abs(a - numeric) <= atol + rtol * Swift.abs(numeric),
                    "input \(which) element \(i): autograd \(a), finite difference \(numeric)",
                    sourceLocation: sourceLocation)
        }
    }
    #expect(skipped * 4 <= checked, "\(skipped) of \(checked) elements sit on a kink", sourceLocation: sourceLocation)
}
