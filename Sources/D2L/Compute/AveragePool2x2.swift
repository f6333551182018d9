/// Average pooling with a 2×2 window and stride 2, unpadded (LeNet's and DenseNet's
/// transitions), on one plane, eight outputs at once.
///
/// The general loop costs many cycles per output, because its window size is not known at
/// compile time, and BN-LeNet's two pooling layers make that a visible share of its step. With
/// the window fixed, output (oy, ox) reads the pairs (2ox, 2ox + 1) of input rows 2oy and
/// 2oy + 1: a 16-float load of each row holds eight outputs' pairs, split into even and odd
/// lanes. The sum runs in the general loop's order, ((a + b) + c) + d with a, b from the upper
/// row, so both paths give the same sums (up to the sign of a zero: the general loop starts
/// from +0).
enum AveragePool2x2 {
    /// dst (oh × ow) = the 2×2 means of src (h × w, row stride w); oh = ⌊h/2⌋, ow = ⌊w/2⌋.
    @inline(__always)
    static func forward(_ src: UnsafePointer<Float>, width w: Int, into dst: UnsafeMutablePointer<Float>, oh: Int, ow: Int) {
        let quarter = SIMD8<Float>(repeating: 0.25)
        for oy in 0..<oh {
            let upper = src + 2 &* oy &* w, lower = upper + w, out = dst + oy &* ow
            var ox = 0
            while ox &+ 8 <= ow {
                let a = UnsafeRawPointer(upper + 2 &* ox).loadUnaligned(as: SIMD16<Float>.self)
                let b = UnsafeRawPointer(lower + 2 &* ox).loadUnaligned(as: SIMD16<Float>.self)
                let sum = ((a.evenHalf + a.oddHalf) + b.evenHalf) + b.oddHalf
                UnsafeMutableRawPointer(out + ox).storeBytes(of: sum * quarter, as: SIMD8<Float>.self)
                ox &+= 8
            }
            while ox < ow {
                let i = 2 &* ox
                out[ox] = (((upper[i] + upper[i &+ 1]) + lower[i]) + lower[i &+ 1]) * 0.25
                ox &+= 1
            }
        }
    }

    /// gx (h × w) += each output gradient g (oh × ow) / 4 on the four pixels of its window.
    @inline(__always)
    static func backward(_ g: UnsafePointer<Float>, oh: Int, ow: Int, addingInto gx: UnsafeMutablePointer<Float>, width w: Int) {
        let quarter = SIMD8<Float>(repeating: 0.25)
        for oy in 0..<oh {
            let upper = gx + 2 &* oy &* w, lower = upper + w, grad = g + oy &* ow
            var ox = 0
            while ox &+ 8 <= ow {
                let v = UnsafeRawPointer(grad + ox).loadUnaligned(as: SIMD8<Float>.self) * quarter
                var pairs = SIMD16<Float>()
                pairs.evenHalf = v; pairs.oddHalf = v
                let top = UnsafeMutableRawPointer(upper + 2 &* ox), bottom = UnsafeMutableRawPointer(lower + 2 &* ox)
                top.storeBytes(of: top.loadUnaligned(as: SIMD16<Float>.self) + pairs, as: SIMD16<Float>.self)
                bottom.storeBytes(of: bottom.loadUnaligned(as: SIMD16<Float>.self) + pairs, as: SIMD16<Float>.self)
                ox &+= 8
            }
            while ox < ow {
                let v = grad[ox] * 0.25, i = 2 &* ox
                upper[i] += v; upper[i &+ 1] += v; lower[i] += v; lower[i &+ 1] += v
                ox &+= 1
            }
        }
    }
}
