import D2L
import Foundation
import Models

/// The paper's look at the good region of AnyNetX_E (Radosavovic et al., 2020, §3.3): the
/// per-block widths of the best networks, and how closely RegNet's quantised linear rule
/// ŵ_j = w0 · wm^round(log(u_j / w0) / log wm), u_j = w0 + wa·j, reproduces them.
public struct QuantizedLinearFit: Sendable {
    public let w0: Double, wa: Double, wm: Double
    /// The rule's widths, one per block.
    public let fitted: [Int]
    /// e_fit = mean over blocks of |ln(w_j / ŵ_j)|: 0 when the rule gives the widths exactly.
    public let error: Double

    /// Grid search (w0 over multiples of 8 up to the largest width, wa in steps of 0.5 up to 64,
    /// wm in steps of 0.05 from 1.5 to 3, the sampler's RegNet ranges) for the parameters with
    /// the lowest e_fit.
    public init(widths: [Int]) {
        precondition(!widths.isEmpty && widths.allSatisfy { $0 > 0 }, "QuantizedLinearFit needs positive widths")
        let d = widths.count, target = widths.map { log(Double($0)) }
        var best = (error: Double.infinity, w0: 8.0, wa: 0.0, wm: 2.0, fitted: widths)
        let topW0 = Swift.max(8, (widths.max()! / 8) * 8)
        for w0 in stride(from: 8, through: topW0, by: 8) {
            for wa in stride(from: 0.0, through: 64.0, by: 0.5) {
                for wm in stride(from: 1.5, through: 3.0001, by: 0.05) {
                    let f = DesignSpaceSampler.quantizedLinearWidths(depth: d, w0: Double(w0), wa: wa, wm: wm)
                    guard f.allSatisfy({ $0 > 0 }) else { continue }
                    var e = 0.0
                    for j in 0..<d { e += Swift.abs(target[j] - log(Double(f[j]))) }
                    e /= Double(d)
                    if e < best.error { best = (e, Double(w0), wa, wm, f) }
                }
            }
        }
        w0 = best.w0; wa = best.wa; wm = best.wm; fitted = best.fitted; error = best.error
    }
}

extension AnyNetArchitecture {
    /// The width of every block in order (a stage of depth d contributes d equal widths).
    public var blockWidths: [Int] { stages.flatMap { [Int](repeating: $0.channels, count: $0.depth) } }
}

/// Per-block widths of the best networks (dots) with their quantised linear fits (dashed steps).
public func goodRegionPlot(_ networks: [(label: String, architecture: AnyNetArchitecture, fit: QuantizedLinearFit)], title: String) -> Canvas {
    var series: [LinePlot.Series] = []
    for (i, n) in networks.enumerated() {
        let color = RGB.palette[i % RGB.palette.count]
        series.append(LinePlot.Series(name: n.label, points: n.architecture.blockWidths.enumerated().map { (x: Double($0.offset), y: Double($0.element)) },
                                      color: color, steps: true))
        series.append(LinePlot.Series(name: String(format: "fit w0=%.0f wa=%.1f wm=%.2f, e_fit %.3f", n.fit.w0, n.fit.wa, n.fit.wm, n.fit.error),
                                      points: n.fit.fitted.enumerated().map { (x: Double($0.offset), y: Double($0.element)) },
                                      color: color, steps: true, dashed: true))
    }
    var plot = LinePlot(title: title, xLabel: "block index j", yLabel: "width w_j (channels)", series: series)
    plot.xMinStep = 1
    return plot.render(width: 980, height: 480)
}
