/// y = scales[ch]·x + shifts[ch] (then max(y, 0) with `relu`) for every value of the given
/// channels of an (N, C, …) array with `valuesPerRow` values per (n, c) row.
func affineChannels(_ x: UnsafePointer<Float>, into y: UnsafeMutablePointer<Float>, channels: Range<Int>,
                            batch n: Int, channelCount c: Int, valuesPerRow hw: Int,
                            scales: UnsafePointer<Float>, shifts: UnsafePointer<Float>, relu: Bool) {
    for ch in channels {
        for i in 0..<n {
            let base = (i * c + ch) * hw
            SIMDLoops.affine(x + base, hw, scale: scales[ch], shift: shifts[ch], rectify: relu, into: y + base)
        }
    }
}
