import Foundation

/// Horizontal bars side by side in panels, one panel per quantity (say parameters and FLOPs),
/// each with its own linear scale from 0, every bar labelled with its value.
/// - Parameters:
///   - labels: one per bar, the same in every panel.
///   - panels: (title of the quantity, one value per label, how a value is written).
public func barChart(labels: [String], panels: [(title: String, values: [Double], format: (Double) -> String)],
                     title: String, subtitle: String = "") -> Canvas {
    let rowH = 28, barMax = 220, labelW = (labels.map { Canvas.textWidth($0) }.max() ?? 0) + 20
    let valueW = 80, panelW = barMax + valueW + 24
    let top = subtitle.isEmpty ? 70 : 86
    var canvas = Canvas(width: Swift.max(labelW + panels.count * panelW + 12, Canvas.textWidth(title, scale: 2) + 24),
                        height: top + labels.count * rowH + 24)
    canvas.text(title, x: 12, y: 10, scale: 2)
    if !subtitle.isEmpty { canvas.text(subtitle, x: 12, y: 36, .gray) }
    for (i, label) in labels.enumerated() {
        canvas.text(label, x: 12, y: top + i * rowH + (rowH - Canvas.textHeight()) / 2)
    }
    for (p, panel) in panels.enumerated() {
        precondition(panel.values.count == labels.count)
        let x0 = labelW + p * panelW, peak = Swift.max(panel.values.max() ?? 0, 1e-300)
        canvas.text(panel.title, x: x0, y: top - 22)
        canvas.fill(x: x0, y: top - 4, w: 1, h: labels.count * rowH + 8, .gray)
        for (i, v) in panel.values.enumerated() {
            let w = Int((Double(barMax) * v / peak).rounded()), y = top + i * rowH + 4
            canvas.fill(x: x0 + 1, y: y, w: w, h: rowH - 8, RGB.palette[p % RGB.palette.count])
            canvas.text(panel.format(v), x: x0 + w + 6, y: y + (rowH - 8 - Canvas.textHeight()) / 2)
        }
    }
    return canvas
}
