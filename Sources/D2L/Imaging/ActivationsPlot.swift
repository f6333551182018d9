import Foundation

/// Per top-level layer, a bar for the share of its channels that are dead (0 for every image of
/// the batch), with the layer's output shape, mean and standard deviation beside it.
public func activationsPlot(_ stats: ActivationStatistics, title: String, subtitle: String) -> Canvas {
    let rowH = Canvas.textHeight() + 10, barW = 260
    let nameW = (stats.layers.map { Canvas.textWidth($0.name) }.max() ?? 0) + 16
    let infoW = (stats.layers.map { Canvas.textWidth(info($0)) }.max() ?? 0) + 16
    let top = 84, left = 12 + nameW
    let width = Swift.max(left + barW + 70 + infoW, Canvas.textWidth(title, scale: 2) + 24, Canvas.textWidth(subtitle) + 24)
    var canvas = Canvas(width: width, height: top + stats.layers.count * rowH + 40)
    canvas.text(title, x: 12, y: 10, scale: 2)
    canvas.text(subtitle, x: 12, y: 36, .gray)
    canvas.text("dead channels", x: left, y: top - 22)
    canvas.text("output: shape, mean ± std", x: left + barW + 70, y: top - 22)
    for (i, layer) in stats.layers.enumerated() {
        let y = top + i * rowH
        canvas.text(layer.name, x: 12, y: y + 3)
        canvas.fill(x: left, y: y + 2, w: barW, h: rowH - 6, .lightGray)
        canvas.fill(x: left, y: y + 2, w: Int((Double(barW) * layer.deadFraction).rounded()), h: rowH - 6, RGB(214, 39, 40))
        canvas.text(String(format: "%.0f%%", layer.deadFraction * 100), x: left + barW + 8, y: y + 3)
        canvas.text(info(layer), x: left + barW + 70, y: y + 3, .gray)
    }
    for (v, label) in [(0.0, "0%"), (0.5, "50%"), (1.0, "100%")] {
        let x = left + Int(Double(barW) * v)
        canvas.fill(x: x, y: top - 4, w: 1, h: stats.layers.count * rowH + 6, .gray)
        canvas.text(label, x: x - Canvas.textWidth(label) / 2, y: top + stats.layers.count * rowH + 6, .gray)
    }
    return canvas
}

private func info(_ l: ActivationStatistics.Layer) -> String {
    "\(l.shape.map(String.init).joined(separator: "×"))  " + String(format: "%.3f ± %.3f", l.mean, l.std)
}
