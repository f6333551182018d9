/// The loops under pooling: planes split over the workers, and the maximum of a window
/// (one at a time, or eight neighbouring windows at once).

/// Runs `body(range)` over the (n, c) planes, one contiguous range per worker.
@inline(__always)
func forPlaneRanges(_ planes: Int, _ body: (Range<Int>) -> Void) {
    Parallel.forRanges(planes, minPerWorker: 8, body)
}

/// Runs `body(plane)` for every (n, c) plane, split across workers.
@inline(__always)
func forEachPlane(_ planes: Int, _ body: (Int) -> Void) {
    forPlaneRanges(planes) { r in for plane in r { body(plane) } }
}

/// The largest value of one window of a plane (rows × columns of the plane, row stride `w`)
/// and its position in the window, row-major from the window's corner `origin` (which may
/// lie in the padding) in rows of `kernelWidth`: the first one on ties, and the first NaN if
/// there is one (as PyTorch). Selects instead of branches: which value wins is data-dependent,
/// so branches would mispredict.
@inline(__always)
func windowMax(_ src: UnsafePointer<Float>, rowStride w: Int, rows: Range<Int>, columns: Range<Int>,
                       origin: (top: Int, left: Int), kernelWidth kw: Int) -> (Float, Int) {
    var best = -Float.infinity
    var at = (rows.lowerBound &- origin.top) &* kw &+ columns.lowerBound &- origin.left
    var nanAt = -1
    for iy in rows {
        let row = iy &* w, windowRow = (iy &- origin.top) &* kw &- origin.left
        for ix in columns {
            let v = src[row &+ ix]
            let greater = v > best
            best = greater ? v : best
            at = greater ? windowRow &+ ix : at
            if v != v && nanAt < 0 { nanAt = windowRow &+ ix }
        }
    }
    return nanAt < 0 ? (best, at) : (.nan, nanAt)
}

/// Eight running maxima, one per SIMD lane, as `windowMax` keeps one: offer the taps in
/// row-major order; a candidate wins only if strictly greater, so ties keep the first
/// position. A NaN never wins here but is noted (`sawNaN`): its windows must then be taken
/// one at a time, where the first NaN wins as in PyTorch.
struct EightMaxima {
    var best = SIMD8<Float>(repeating: -.infinity)
    /// Each lane's winning position in its window.
    var at: SIMD8<Int32>
    var sawNaN = SIMDMask<SIMD8<Int32>>(repeating: false)

    /// Starts every lane at `position`, the window's first tap (what wins if all are −∞).
    @inline(__always) init(firstPosition position: Int32) { at = SIMD8(repeating: position) }

    @inline(__always) mutating func offer(_ candidate: SIMD8<Float>, at position: Int32) {
        let greater = candidate .> best
        best.replace(with: candidate, where: greater)
        at.replace(with: position, where: greater)
        sawNaN .|= candidate .!= candidate
    }
}

/// `windowMax` for eight neighbouring windows of one output row at once, each lying inside the
/// plane: `corner` is the first window's top-left value, the others start `stride` (1 or 2)
/// columns apart; the taps go to `EightMaxima` in row-major order. Returns false, writing
/// nothing, if any candidate is NaN: the caller then takes those windows one at a time.
/// Reads up to 8 (stride 1) or 16 (stride 2) values from each tap's first column.
@inline(__always)
func windowMax8(_ corner: UnsafePointer<Float>, rowStride w: Int, kernel: (Int, Int), stride: Int,
                        into dst: UnsafeMutablePointer<Float>, codes: UnsafeMutablePointer<UInt8>?) -> Bool {
    var maxima = EightMaxima(firstPosition: 0)
    var tap: Int32 = 0
    for u in 0..<kernel.0 {
        let row = UnsafeRawPointer(corner + u &* w)
        for v in 0..<kernel.1 {
            maxima.offer(stride == 1
                ? row.loadUnaligned(fromByteOffset: v &* 4, as: SIMD8<Float>.self)
                : row.loadUnaligned(fromByteOffset: v &* 4, as: SIMD16<Float>.self).evenHalf, at: tap)
            tap &+= 1
        }
    }
    guard !any(maxima.sawNaN) else { return false }
    UnsafeMutableRawPointer(dst).storeBytes(of: maxima.best, as: SIMD8<Float>.self)
    if let codes {
        UnsafeMutableRawPointer(codes).storeBytes(of: SIMD8<UInt8>(truncatingIfNeeded: maxima.at), as: SIMD8<UInt8>.self)
    }
    return true
}
