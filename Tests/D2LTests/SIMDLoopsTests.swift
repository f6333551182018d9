import Foundation
import Testing
@testable import D2L

extension CoreTests {
    /// The SIMD loops against the scalar formulas, for lengths around the 8- and 16-wide
    /// steps (so that both the vector part and the scalar tail are exercised).
    @Suite struct SIMDLoopsTests {
        static let lengths = [0, 1, 7, 8, 9, 15, 16, 17, 31, 33, 100]

        func vector(_ n: Int, seed: UInt64) -> [Float] {
            var g = SeededGenerator(seed: seed)
            return (0..<n).map { _ in g.uniform(-2, 2) }
        }

        @Test(arguments: lengths)
        func reductions(_ n: Int) {
            let x = vector(n, seed: 1), g = vector(n, seed: 2), mu: Float = 0.3
            let sum = x.reduce(0.0) { $0 + Double($1) }
            let squares = x.reduce(0.0) { $0 + Double($1 - mu) * Double($1 - mu) }
            let dot = zip(g, x).reduce(0.0) { $0 + Double($1.0) * Double($1.1 - mu) }
            x.withUnsafeBufferPointer { px in g.withUnsafeBufferPointer { pg in
                let xs = px.baseAddress ?? UnsafePointer(bitPattern: 16)!, gs = pg.baseAddress ?? UnsafePointer(bitPattern: 16)!
                #expect(Swift.abs(Double(SIMDLoops.sum(xs, n)) - sum) < 1e-4)
                #expect(Swift.abs(Double(SIMDLoops.sumOfSquaredDeviations(xs, n, from: mu)) - squares) < 1e-4)
                let (s, d) = SIMDLoops.sumAndCenteredDot(gs, xs, n, mean: mu)
                #expect(Swift.abs(Double(s) - g.reduce(0.0) { $0 + Double($1) }) < 1e-4)
                #expect(Swift.abs(Double(d) - dot) < 1e-4)
            }}
        }

        /// ReLU's packed mask for x, from the kernel.
        func reluMask(_ x: [Float]) -> [UInt8] {
            var y = [Float](repeating: 7, count: x.count), mask = [UInt8](repeating: 0xFF, count: (x.count + 7) / 8)
            x.withUnsafeBufferPointer { px in y.withUnsafeMutableBufferPointer { py in mask.withUnsafeMutableBufferPointer { pm in
                if let xs = px.baseAddress { SIMDLoops.relu(xs, x.count, into: py.baseAddress!, mask: pm.baseAddress!) }
            }}}
            return mask
        }

        @Test(arguments: lengths)
        func reluAndItsMask(_ n: Int) {
            var x = vector(n, seed: 6)
            if n > 4 { x[0] = .nan; x[1] = 0; x[2] = -0.0; x[3] = .infinity }
            var y = [Float](repeating: 7, count: n), mask = [UInt8](repeating: 0xFF, count: (n + 7) / 8)
            var unmasked = [Float](repeating: 7, count: n)
            x.withUnsafeBufferPointer { px in y.withUnsafeMutableBufferPointer { py in mask.withUnsafeMutableBufferPointer { pm in
            unmasked.withUnsafeMutableBufferPointer { pu in
                guard n > 0 else { return }
                SIMDLoops.relu(px.baseAddress!, n, into: py.baseAddress!, mask: pm.baseAddress!)
                SIMDLoops.relu(px.baseAddress!, n, into: pu.baseAddress!, mask: nil)
            }}}}
            #expect(unmasked.map(\.bitPattern) == y.map(\.bitPattern))
            for j in 0..<n {
                let expected = Swift.max(x[j], 0)
                #expect(y[j].bitPattern == expected.bitPattern, "y[\(j)] for x = \(x[j])")
                #expect((mask[j / 8] >> UInt8(j % 8)) & 1 == (x[j] > 0 ? 1 : 0), "bit \(j) for x = \(x[j])")
            }
            // The last byte's spare bits are clear.
            if n % 8 != 0 { #expect(mask[n / 8] >> UInt8(n % 8) == 0) }
        }

        @Test(arguments: lengths)
        func elementwise(_ n: Int) {
            var x = vector(n, seed: 3)
            if n > 4 { x[1] = 0; x[3] = -0.0 }   // ReLU's gradient at exactly 0 is 0
            let g = vector(n, seed: 4), start = vector(n, seed: 5)
            let (mu, r, c, a, b): (Float, Float, Float, Float, Float) = (0.2, 1.7, 0.9, 0.05, -0.3)
            var y = [Float](repeating: .nan, count: n), dx = start, dxSet = start, dxInPlace = g, gx = g, sum = start
            // Zeroing the first n of n + 1 values leaves the last one alone.
            var zeroed = start + [7], copied = start + [7], filled = start + [7]
            x.withUnsafeBufferPointer { px in g.withUnsafeBufferPointer { pg in
            y.withUnsafeMutableBufferPointer { py in dx.withUnsafeMutableBufferPointer { pdx in
            gx.withUnsafeMutableBufferPointer { pgx in sum.withUnsafeMutableBufferPointer { ps in
            dxSet.withUnsafeMutableBufferPointer { pds in dxInPlace.withUnsafeMutableBufferPointer { pdi in
            zeroed.withUnsafeMutableBufferPointer { pz in copied.withUnsafeMutableBufferPointer { pc in
            filled.withUnsafeMutableBufferPointer { pf in
                SIMDLoops.zero(pz.baseAddress!, n)
                SIMDLoops.fill(pf.baseAddress!, n, with: 2.5)
                SIMDLoops.copy(pc.baseAddress!, px.baseAddress ?? UnsafePointer(bitPattern: 16)!, n)
                guard n > 0 else { return }
                SIMDLoops.add(ps.baseAddress!, pg.baseAddress!, n)
                SIMDLoops.affine(px.baseAddress!, n, scale: 1.5, shift: -0.25, into: py.baseAddress!)
                SIMDLoops.batchNormGradient(into: pdx.baseAddress!, pg.baseAddress!, px.baseAddress!, n,
                                            mean: mu, rstd: r, scale: c, a: a, b: b, accumulate: true)
                SIMDLoops.batchNormGradient(into: pds.baseAddress!, pg.baseAddress!, px.baseAddress!, n,
                                            mean: mu, rstd: r, scale: c, a: a, b: b, accumulate: false)
                SIMDLoops.batchNormGradient(into: pdi.baseAddress!, pdi.baseAddress!, px.baseAddress!, n,
                                            mean: mu, rstd: r, scale: c, a: a, b: b, accumulate: false)
                SIMDLoops.mask(pgx.baseAddress!, n, by: reluMask(x))
            }}}}}}}}}}}
            #expect(zeroed == [Float](repeating: 0, count: n) + [7])
            #expect(copied == x + [7])
            #expect(filled == [Float](repeating: 2.5, count: n) + [7])
            for j in 0..<n {
                #expect(Swift.abs(y[j] - (x[j] * 1.5 - 0.25)) < 1e-6)
                let value = c * (g[j] - a - (x[j] - mu) * r * b)
                #expect(Swift.abs(dx[j] - (start[j] + value)) < 1e-5)
                #expect(Swift.abs(dxSet[j] - value) < 1e-6)
                #expect(dxInPlace[j] == dxSet[j])
                #expect(gx[j] == (x[j] > 0 ? g[j] : 0))
                #expect(sum[j] == start[j] + g[j])
            }
        }
    
        /// σ on eight lanes against σ in Double: a dense sweep of [−100, 100] (every binade of
        /// the range reduction, both clamps) and the special values, through a buffer whose
        /// length leaves a tail. Relative error at most 4e-7 where σ(x) ≥ 1e-37, absolute 2e-38
        /// below; every element gives the same bits wherever it sits in the buffer.
        @Test func sigmoidMatchesDoublePrecision() throws {
            var x: [Float] = stride(from: -100.0, through: 100.0, by: 0.0123).map { Float($0) }
            x += [0, -0.0, 1e-8, -1e-8, 86.9, 87, 87.1, 88, 88.1, -86.9, -87, -87.1, -88, -88.1, 89, -89, 104, -104,
                  .greatestFiniteMagnitude, -.greatestFiniteMagnitude, .infinity, -.infinity, .nan]
            #expect(x.count % 8 != 0)
            var y = [Float](repeating: 7, count: x.count), shifted = [Float](repeating: 7, count: x.count + 3)
            x.withUnsafeBufferPointer { px in y.withUnsafeMutableBufferPointer { py in shifted.withUnsafeMutableBufferPointer { ps in
                SIMDLoops.sigmoid(px.baseAddress!, x.count, into: py.baseAddress!)
                SIMDLoops.sigmoid(px.baseAddress!, x.count - 3, into: ps.baseAddress! + 3)   // other lanes, other tail
                SIMDLoops.sigmoid(px.baseAddress! + x.count - 3, 3, into: ps.baseAddress!)
            }}}
            var worst = 0.0, mismatches = 0
            for (j, v) in x.enumerated() {
                let shiftedValue = j < x.count - 3 ? shifted[j + 3] : shifted[j - (x.count - 3)]
                if shiftedValue.bitPattern != y[j].bitPattern { mismatches += 1 }
                if v.isNaN { #expect(y[j].isNaN); continue }
                let exact = 1 / (1 + Foundation.exp(-Double(v)))
                #expect(y[j] >= 0 && y[j] <= 1, "σ(\(v)) = \(y[j])")
                if exact >= 1e-37 {
                    worst = Swift.max(worst, Swift.abs(Double(y[j]) - exact) / exact)
                } else {
                    #expect(Swift.abs(Double(y[j]) - exact) <= 2e-38, "σ(\(v)) = \(y[j])")
                }
            }
            #expect(mismatches == 0)
            #expect(worst <= 4e-7, "worst relative error \(worst)")

            // Backward: g·y·(1 − y), in place, tail included.
            let g = vector(19, seed: 7), out = Array(y[100..<119])
            var dx = g
            dx.withUnsafeMutableBufferPointer { pd in out.withUnsafeBufferPointer { po in
                SIMDLoops.sigmoidGradient(pd.baseAddress!, output: po.baseAddress!, 19)
            }}
            for j in 0..<19 { #expect(Swift.abs(dx[j] - g[j] * out[j] * (1 - out[j])) <= 1e-7) }
        }
}
}
