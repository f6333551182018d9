/// The transform matrices of Winograd's minimal filtering algorithm F(m, r): m outputs of an
/// r-tap correlation from α = m + r − 1 inputs with α multiplications (Lavin & Gray 2016).
///
/// In one dimension, for a filter g (r values) and an input tile d (α values),
///   y = Aᵀ · [(G·g) ⊙ (Bᵀ·d)],   y_k = Σ_j g_j · d_{k+j},   k = 0 ..< m.
/// In two dimensions the transforms are applied on both sides:
///   Y = Aᵀ · [(G·W·Gᵀ) ⊙ (Bᵀ·D·B)] · A.
///
/// Built here by the Toom–Cook construction rather than typed in: evaluate the polynomials at
/// α − 1 points and at infinity (the leading coefficient). Linear convolution s = g ∗ h of a
/// filter and an m-value signal is s = C·[(G·g) ⊙ (H·h)] with G, H the evaluation matrices of
/// g and h and C = V⁻¹ the interpolation (V evaluates a polynomial with α coefficients).
/// Correlation is its transpose: y = Hᵀ·[(G·g) ⊙ (Cᵀ·d)], so Aᵀ = Hᵀ and Bᵀ = Cᵀ. Each row
/// of Bᵀ is then scaled so that its smallest non-zero entry is ±1, and the matching row of G
/// by the inverse (the product is unchanged); with the points 0, ±1, ±2 this gives the
/// integer Bᵀ of Lavin & Gray's F(4×4, 3×3).
public struct WinogradMatrices: Sendable {
    public let m: Int, r: Int
    public var alpha: Int { m + r - 1 }
    /// Output transform Aᵀ, m × α, row-major.
    public let at: [Float]
    /// Filter transform G, α × r, row-major.
    public let g: [Float]
    /// Input transform Bᵀ, α × α, row-major.
    public let bt: [Float]
    /// The two-dimensional transforms as single matrices on row-major flattened tiles,
    /// (X ⊗ X)[(a, b), (i, j)] = X[a, i]·X[b, j], so that X·T·Xᵀ = (X ⊗ X)·vec(T):
    /// Bᵀ ⊗ Bᵀ (α² × α²), Aᵀ ⊗ Aᵀ (m² × α²), G ⊗ G (α² × r²).
    public let inputTransform: [Float], outputTransform: [Float], filterTransform: [Float]

    /// The finite interpolation points, in the order they are used: small integers first,
    /// then halves (smaller points keep the transforms' rounding error small).
    static let points: [Double] = [0, 1, -1, 2, -2, 0.5, -0.5]

    public init(m: Int, r: Int) {
        precondition(m >= 1 && r >= 1 && m + r - 1 <= Self.points.count + 1, "F(\(m), \(r)) needs more interpolation points")
        self.m = m; self.r = r
        let alpha = m + r - 1
        let finite = Array(Self.points.prefix(alpha - 1))
        /// Rows evaluating a polynomial with `terms` coefficients at each point, then at infinity.
        func evaluation(terms: Int) -> [[Double]] {
            finite.map { p in (0..<terms).map { pow(p, $0) } }
                + [(0..<terms).map { $0 == terms - 1 ? 1 : 0 }]
        }
        let v = evaluation(terms: alpha), h = evaluation(terms: m)
        var gRows = evaluation(terms: r)
        let c = invert(v)
        var btRows = (0..<alpha).map { i in (0..<alpha).map { j in c[j][i] } }
        for i in 0..<alpha {
            let smallest = btRows[i].filter { Swift.abs($0) > 1e-12 }.map(Swift.abs).min() ?? 1
            btRows[i] = btRows[i].map { $0 / smallest }
            gRows[i] = gRows[i].map { $0 * smallest }
        }
        let atRows = (0..<m).map { a in (0..<alpha).map { i in h[i][a] } }
        at = atRows.flatMap { $0.map(Float.init) }
        g = gRows.flatMap { $0.map(Float.init) }
        bt = btRows.flatMap { $0.map(Float.init) }
        inputTransform = kronecker(btRows)
        outputTransform = kronecker(atRows)
        filterTransform = kronecker(gRows)
    }
}

/// X ⊗ X for a p × q matrix X, as a row-major p² × q² Float matrix, computed in Double.
private func kronecker(_ x: [[Double]]) -> [Float] {
    let p = x.count, q = x[0].count
    return (0..<(p * p)).flatMap { row in (0..<(q * q)).map { col in
        Float(x[row / p][col / q] * x[row % p][col % q])
    }}
}

/// x to a non-negative integer power (0⁰ = 1, as the evaluation at 0 needs).
private func pow(_ x: Double, _ n: Int) -> Double { (0..<n).reduce(1.0) { acc, _ in acc * x } }

/// Inverse of a small square matrix by Gauss–Jordan elimination with partial pivoting.
private func invert(_ matrix: [[Double]]) -> [[Double]] {
    let n = matrix.count
    var a = matrix.enumerated().map { i, row in row + (0..<n).map { $0 == i ? 1.0 : 0.0 } }
    for col in 0..<n {
        let pivot = (col..<n).max { Swift.abs(a[$0][col]) < Swift.abs(a[$1][col]) }!
        precondition(Swift.abs(a[pivot][col]) > 1e-12, "Winograd: interpolation points must differ")
        a.swapAt(col, pivot)
        let p = a[col][col]
        a[col] = a[col].map { $0 / p }
        for row in 0..<n where row != col {
            let f = a[row][col]
            if f != 0 { a[row] = zip(a[row], a[col]).map { $0 - f * $1 } }
        }
    }
    return a.map { Array($0[n...]) }
}
