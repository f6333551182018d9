import Foundation

/// A line chart with axes, "nice" ticks, labels and a legend, drawn on a `Canvas`.
/// Used for training curves (d2l's `Animator`) and design-space error EDFs.
public struct LinePlot {
    public struct Series {
        public let name: String
        public let points: [(x: Double, y: Double)]
        public let color: RGB
        /// Draw as a staircase (for empirical CDFs) instead of straight segments.
        public let steps: Bool
        /// Draw thin and dashed, on top of the solid lines (a second run over the first).
        public let dashed: Bool
        /// A band (a confidence interval at each x) shaded in the series' colour behind the lines.
        public var band: [(x: Double, low: Double, high: Double)] = []
        public init(name: String, points: [(x: Double, y: Double)], color: RGB, steps: Bool = false, dashed: Bool = false) {
            self.name = name; self.points = points; self.color = color; self.steps = steps; self.dashed = dashed
        }
    }

    public var title: String
    public var xLabel: String
    public var yLabel: String
    public var series: [Series]
    /// Fixed axis ranges; nil means fit the data.
    public var xRange: (Double, Double)?
    public var yRange: (Double, Double)?
    /// Smallest spacing of x ticks (1 for epochs, so no fractional epochs are labelled).
    public var xMinStep: Double = 0

    public init(title: String, xLabel: String, yLabel: String, series: [Series],
                xRange: (Double, Double)? = nil, yRange: (Double, Double)? = nil) {
        self.title = title; self.xLabel = xLabel; self.yLabel = yLabel; self.series = series
        self.xRange = xRange; self.yRange = yRange
    }

    public func render(width: Int = 640, height: Int = 440) -> Canvas {
        var canvas = Canvas(width: width, height: height)
        // The legend stands right of the plot, so it never covers the data.
        let rowH = Canvas.textHeight() + 4
        let legendW = (series.map { Canvas.textWidth($0.name) }.max() ?? 0) + 40
        let left = 70, right = legendW + 28, top = 40, bottom = 60
        let pw = width - left - right, ph = height - top - bottom
        let all = series.flatMap(\.points)
        let (x0, x1) = xRange ?? Self.padded(all.map(\.x))
        let (y0, y1) = yRange ?? Self.padded(all.map(\.y))
        func px(_ x: Double) -> Int { left + Int(((x - x0) / (x1 - x0) * Double(pw)).rounded()) }
        func py(_ y: Double) -> Int { top + ph - Int(((y - y0) / (y1 - y0) * Double(ph)).rounded()) }

        // Grid, ticks and tick labels.
        for t in Self.ticks(x0, x1, minStep: xMinStep) {
            let x = px(t)
            canvas.fill(x: x, y: top, w: 1, h: ph, .lightGray)
            canvas.fill(x: x, y: top + ph, w: 1, h: 5, .black)
            let label = Self.tickLabel(t)
            canvas.text(label, x: x - Canvas.textWidth(label) / 2, y: top + ph + 8)
        }
        for t in Self.ticks(y0, y1) {
            let y = py(t)
            canvas.fill(x: left, y: y, w: pw, h: 1, .lightGray)
            canvas.fill(x: left - 5, y: y, w: 5, h: 1, .black)
            let label = Self.tickLabel(t)
            canvas.text(label, x: left - 9 - Canvas.textWidth(label), y: y - Canvas.textHeight() / 2)
        }
        canvas.frame(x: left, y: top, w: pw + 1, h: ph + 1, .black)

        // Bands behind everything, then solid series, dashed ones on top.
        for s in series where !s.band.isEmpty {
            let upper = s.band.map { (px($0.x), py($0.high)) }, lower = s.band.reversed().map { (px($0.x), py($0.low)) }
            canvas.shade(polygon: upper + lower, s.color, alpha: 0.18)
        }
        for s in series.filter({ !$0.dashed }) + series.filter(\.dashed) {
            let pts = s.points.map { (px($0.x), py($0.y)) }
            let thickness = s.dashed ? 1 : 2
            // A staircase (an empirical CDF) goes across, then up, at every point.
            let path = s.steps ? zip(pts, pts.dropFirst()).flatMap { a, b in [a, (b.0, a.1)] } + pts.suffix(1) : pts
            canvas.polyline(path, s.color, thickness: thickness, dashed: s.dashed)
            if pts.count == 1 || !s.steps { for p in pts { canvas.dot(p.0, p.1, radius: s.dashed ? 1.5 : 2.5, s.color) } }
        }

        // Title, axis labels, legend.
        canvas.text(title, x: (width - Canvas.textWidth(title, scale: 2)) / 2, y: 10, scale: 2)
        canvas.text(xLabel, x: left + (pw - Canvas.textWidth(xLabel)) / 2, y: height - 28)
        canvas.verticalText(yLabel, x: 12, y: top + (ph + Canvas.textWidth(yLabel)) / 2)
        let legendH = series.count * rowH + 8
        let (lx, ly) = (left + pw + 16, top)
        canvas.fill(x: lx, y: ly, w: legendW, h: legendH, .white)
        canvas.frame(x: lx, y: ly, w: legendW, h: legendH, .gray)
        for (i, s) in series.enumerated() {
            let y = ly + 4 + i * rowH, mid = y + rowH / 2 - 1
            canvas.line(lx + 6, mid, lx + 28, mid, s.color, thickness: s.dashed ? 1 : 2, dashed: s.dashed)
            canvas.text(s.name, x: lx + 34, y: y + 1)
        }
        return canvas
    }

    /// The data range widened by 5% (or ±0.5 around a single value).
    static func padded(_ values: [Double]) -> (Double, Double) {
        let finite = values.filter(\.isFinite)
        guard let lo = finite.min(), let hi = finite.max() else { return (0, 1) }
        if hi - lo < 1e-12 { return (lo - 0.5, hi + 0.5) }
        let pad = (hi - lo) * 0.05
        return (lo - pad, hi + pad)
    }

    /// Ticks at 1, 2 or 5 × 10ᵏ steps, about five to eight of them, inside [lo, hi].
    static func ticks(_ lo: Double, _ hi: Double, minStep: Double = 0) -> [Double] {
        let raw = Swift.max((hi - lo) / 8, minStep)
        let magnitude = Foundation.pow(10, Foundation.floor(Foundation.log10(raw)))
        let step = [1.0, 2, 5, 10].map { $0 * magnitude }.first { $0 >= raw } ?? raw
        var t = Foundation.ceil(lo / step) * step
        var result: [Double] = []
        while t <= hi + step * 1e-9 { result.append(Swift.abs(t) < step * 1e-9 ? 0 : t); t += step }
        return result
    }

    static func tickLabel(_ v: Double) -> String {
        if v == v.rounded() && Swift.abs(v) < 1e6 { return String(Int(v)) }
        var s = String(format: "%.3f", v)
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
        return s
    }
}

/// d2l's training plot: train loss and train acc five times per epoch (the running means of
/// `EpochMetrics.trainPoints`; once per epoch for records without them), test acc after each
/// epoch. The x axis starts at 0 rather than the book's 1, so a one-epoch run shows a curve.
/// With two runs (a chapter that trains two versions of a network) the second is drawn dashed
/// in darker shades of the same colours, on top of the first, so identical curves stay visible.
public func trainingCurves(_ runs: [(name: String, history: [EpochMetrics])], title: String) -> Canvas {
    var series: [LinePlot.Series] = []
    for (r, run) in runs.enumerated() {
        let prefix = runs.count > 1 ? run.name + " " : ""
        let during = run.history.flatMap(\.plotPoints)
        let curves: [(String, [(x: Double, y: Double)])] = [
            ("train loss", during.map { ($0.epoch, $0.loss) }),
            ("train acc", during.map { ($0.epoch, $0.trainAcc) }),
            ("test acc", run.history.map { (Double($0.epoch), $0.testAcc) })]
        for (c, (label, points)) in curves.enumerated() {
            let base = RGB.palette[c]
            let color = r == 0 ? base : RGB(base.r / 2, base.g / 2, base.b / 2)
            series.append(LinePlot.Series(name: prefix + label, points: points, color: color, dashed: r > 0))
        }
    }
    let losses = runs.flatMap { $0.history.flatMap { [$0.loss] + $0.plotPoints.map(\.loss) } }.filter(\.isFinite)
    let yMax = Swift.max(1.0, losses.max() ?? 1) * 1.02
    let epochs = Double(runs.map(\.history.count).max() ?? 1)
    let withinEpochs = runs.contains { $0.history.contains { !$0.trainPoints.isEmpty } }
    var plot = LinePlot(title: title, xLabel: "epoch", yLabel: "loss / accuracy", series: series,
                        xRange: withinEpochs ? (0, Swift.max(epochs, 1)) : (1, Swift.max(epochs, 2)), yRange: (0, yMax))
    plot.xMinStep = 1
    return plot.render()
}

extension EpochMetrics {
    /// The epoch's train loss and accuracy as the plot draws them: its points during the epoch,
    /// or for a record without them the epoch's result at its end.
    public var plotPoints: [TrainPoint] {
        trainPoints.isEmpty ? [TrainPoint(epoch: Double(epoch), loss: loss, trainAcc: trainAcc)] : trainPoints
    }
}
