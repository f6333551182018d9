/// The largest |aᵢ − bᵢ| of two arrays of the same length: how far apart two computations of
/// the same values are (fused against composed kernels, one implementation against another).
public func maxAbsDiff(_ a: [Float], _ b: [Float]) -> Float {
    precondition(a.count == b.count)
    return zip(a, b).map { Swift.abs($0 - $1) }.max() ?? 0
}
