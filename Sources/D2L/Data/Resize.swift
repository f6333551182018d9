/// The book's `transforms.Resize(size)` on Fashion-MNIST's 8-bit PIL images: PIL's bilinear
/// resampling, reproduced exactly, fixed-point arithmetic included.
///
/// PIL resamples in two separable passes (horizontal, then vertical), each rounding to 8 bits.
/// Output pixel i along an axis has its centre at c = (i + ½)·in/out in input coordinates and
/// mixes input pixels j with the triangle weights max(0, 1 − |j + ½ − c| / s), s = max(1, in/out)
/// (so shrinking averages, i.e. antialiases), normalised to sum 1. Weights are stored as
/// integers scaled by 2²² and each sum is rounded and clipped to 0…255.
public struct BilinearResize: Sendable {
    public let inSize: Int
    public let outSize: Int
    /// Per output pixel: first input index and integer weights.
    let taps: [(start: Int, weights: [Int32])]

    static let precisionBits = 22

    public init(from inSize: Int, to outSize: Int) {
        precondition(inSize > 0 && outSize > 0)
        self.inSize = inSize; self.outSize = outSize
        let scale = Double(inSize) / Double(outSize)
        let filterScale = Swift.max(scale, 1)
        let support = 1.0 * filterScale
        var taps: [(Int, [Int32])] = []
        for i in 0..<outSize {
            let center = (Double(i) + 0.5) * scale
            let lo = Swift.max(Int(center - support + 0.5), 0)           // C's (int) truncation
            let hi = Swift.min(Int(center + support + 0.5), inSize)
            var w = (lo..<hi).map { j -> Double in
                let t = Swift.abs((Double(j) - center + 0.5) / filterScale)
                return t < 1 ? 1 - t : 0
            }
            let total = w.reduce(0, +)
            if total != 0 { w = w.map { $0 / total } }
            let one = Double(1 << Self.precisionBits)
            taps.append((lo, w.map { Int32($0 < 0 ? -0.5 + $0 * one : 0.5 + $0 * one) }))
        }
        self.taps = taps
    }

    /// Resizes one square 8-bit image of inSize×inSize into outSize×outSize (row-major).
    public func callAsFunction(_ image: UnsafePointer<UInt8>, into out: UnsafeMutablePointer<UInt8>) {
        if inSize == outSize { out.update(from: image, count: inSize * inSize); return }
        // Horizontal pass: inSize rows × outSize columns.
        var temp = [UInt8](repeating: 0, count: inSize * outSize)
        for y in 0..<inSize {
            for (x, tap) in taps.enumerated() {
                var sum: Int32 = 1 << (Int32(Self.precisionBits) - 1)
                for (k, w) in tap.weights.enumerated() { sum += Int32(image[y * inSize + tap.start + k]) * w }
                temp[y * outSize + x] = Self.clip8(sum)
            }
        }
        // Vertical pass.
        for (y, tap) in taps.enumerated() {
            for x in 0..<outSize {
                var sum: Int32 = 1 << (Int32(Self.precisionBits) - 1)
                for (k, w) in tap.weights.enumerated() { sum += Int32(temp[(tap.start + k) * outSize + x]) * w }
                out[y * outSize + x] = Self.clip8(sum)
            }
        }
    }

    @inline(__always) static func clip8(_ v: Int32) -> UInt8 {
        if v <= 0 { return 0 }
        let shifted = v >> Int32(precisionBits)
        return shifted >= 255 ? 255 : UInt8(shifted)
    }
}
