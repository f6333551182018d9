import D2L
import Foundation

/// The statistics that compare design spaces by their error distributions (Radosavovic et al.,
/// 2019 and 2020): the Kolmogorov–Smirnov distance between two EDFs, bootstrap confidence
/// intervals, pointwise bootstrap bands on an EDF, Spearman's rank correlation (is a ranking of
/// networks stable?) and the expected best of n samples.

/// F̂(e) = (1/n) Σ 1(eᵢ ≤ e) for sorted errors.
func edf(_ sorted: [Double], at e: Double) -> Double {
    var lo = 0, hi = sorted.count       // the number of values ≤ e, by binary search
    while lo < hi { let mid = (lo + hi) / 2; if sorted[mid] <= e { lo = mid + 1 } else { hi = mid } }
    return Double(lo) / Double(Swift.max(sorted.count, 1))
}

/// The two-sample Kolmogorov–Smirnov statistic D = sup_e |F̂_a(e) − F̂_b(e)|, in [0, 1]: 0 for
/// identical samples, 1 when every error of one lies below every error of the other.
public func kolmogorovSmirnov(_ a: [Double], _ b: [Double]) -> Double {
    let (sa, sb) = (a.sorted(), b.sorted())
    guard !sa.isEmpty, !sb.isEmpty else { return .nan }
    return (sa + sb).map { Swift.abs(edf(sa, at: $0) - edf(sb, at: $0)) }.max()!
}

/// A statistic with its bootstrap 95% interval (the 2.5th and 97.5th percentiles).
public struct Interval: Sendable, Equatable {
    public let estimate: Double, low: Double, high: Double
    public init(estimate: Double, low: Double, high: Double) { self.estimate = estimate; self.low = low; self.high = high }
    /// Whether the interval lies entirely above 0, entirely below 0, or contains it.
    public var sign: Int { low > 0 ? 1 : (high < 0 ? -1 : 0) }
}

/// The value at quantile q of sorted values (linear interpolation between neighbours).
public func quantile(_ sorted: [Double], _ q: Double) -> Double {
    guard !sorted.isEmpty else { return .nan }
    let position = q * Double(sorted.count - 1)
    let i = Int(position.rounded(.down)), frac = position - Double(i)
    return i + 1 < sorted.count ? sorted[i] * (1 - frac) + sorted[i + 1] * frac : sorted[i]
}

/// mean(b) − mean(a) with a percentile-bootstrap 95% interval: both samples resampled with
/// replacement `resamples` times (seeded, so the interval is reproducible).
public func bootstrapMeanDifference(_ a: [Double], _ b: [Double], resamples: Int = 10_000, seed: UInt64 = 0) -> Interval {
    func mean(_ v: [Double]) -> Double { v.reduce(0, +) / Double(v.count) }
    var g = SeededGenerator(seed: seed)
    var diffs: [Double] = []
    diffs.reserveCapacity(resamples)
    for _ in 0..<resamples {
        var sa = 0.0, sb = 0.0
        for _ in a.indices { sa += a[Int.random(in: 0..<a.count, using: &g)] }
        for _ in b.indices { sb += b[Int.random(in: 0..<b.count, using: &g)] }
        diffs.append(sb / Double(b.count) - sa / Double(a.count))
    }
    diffs.sort()
    return Interval(estimate: mean(b) - mean(a), low: quantile(diffs, 0.025), high: quantile(diffs, 0.975))
}

/// Pointwise 95% bootstrap bands of the EDF of `errors` at each x of `grid`.
public func edfBand(_ errors: [Double], grid: [Double], resamples: Int = 2_000, seed: UInt64 = 0) -> [(x: Double, low: Double, high: Double)] {
    var g = SeededGenerator(seed: seed)
    var curves = [[Double]](repeating: [], count: grid.count)
    for _ in 0..<resamples {
        let sample = errors.indices.map { _ in errors[Int.random(in: 0..<errors.count, using: &g)] }.sorted()
        for (i, x) in grid.enumerated() { curves[i].append(edf(sample, at: x)) }
    }
    return grid.indices.map { i in
        let sorted = curves[i].sorted()
        return (grid[i], quantile(sorted, 0.025), quantile(sorted, 0.975))
    }
}

/// Ranks 1…n, ties sharing the mean of the ranks they span.
func ranks(_ v: [Double]) -> [Double] {
    let order = v.indices.sorted { v[$0] < v[$1] }
    var r = [Double](repeating: 0, count: v.count)
    var i = 0
    while i < order.count {
        var j = i
        while j + 1 < order.count && v[order[j + 1]] == v[order[i]] { j += 1 }
        for k in i...j { r[order[k]] = Double(i + j) / 2 + 1 }
        i = j + 1
    }
    return r
}

/// Spearman's rank correlation of paired values: Pearson's correlation of their ranks; 1 when
/// both order the items the same way, −1 when opposite, about 0 when unrelated.
public func spearman(_ x: [Double], _ y: [Double]) -> Double {
    precondition(x.count == y.count, "spearman needs paired values")
    let (rx, ry) = (ranks(x), ranks(y))
    let n = Double(x.count), mx = rx.reduce(0, +) / n, my = ry.reduce(0, +) / n
    let cov = zip(rx, ry).reduce(0.0) { $0 + ($1.0 - mx) * ($1.1 - my) }
    let vx = rx.reduce(0.0) { $0 + ($1 - mx) * ($1 - mx) }, vy = ry.reduce(0.0) { $0 + ($1 - my) * ($1 - my) }
    return vx > 0 && vy > 0 ? cov / (vx * vy).squareRoot() : .nan
}

/// The expected lowest error among n networks drawn with replacement from `errors`, exactly:
/// with sorted errors e₍₁₎ ≤ … ≤ e₍N₎, P(min = e₍ᵢ₎) = ((N−i+1)/N)ⁿ − ((N−i)/N)ⁿ.
public func expectedBestOfN(_ errors: [Double], n: Int) -> Double {
    let sorted = errors.sorted(), count = Double(sorted.count)
    return sorted.enumerated().reduce(0.0) { total, item in
        let i = Double(item.offset + 1)
        return total + item.element * (pow((count - i + 1) / count, Double(n)) - pow((count - i) / count, Double(n)))
    }
}
