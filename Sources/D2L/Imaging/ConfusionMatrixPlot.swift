import Foundation

/// The confusion matrix as a picture: one row per true class, one column per predicted class,
/// each cell coloured by its share of the row (white 0 to dark blue 1) and labelled with its
/// count; each row's accuracy at its right end, and the colour scale below.
public func confusionMatrixPlot(_ m: ConfusionMatrix, classNames: [String], title: String) -> Canvas {
    precondition(classNames.count == m.classes)
    let cell = 52, labelW = (classNames.map { Canvas.textWidth($0) }.max() ?? 0) + 16
    let top = 86, left = 28 + labelW, accuracyW = 90
    let width = left + m.classes * cell + accuracyW + 16
    let height = top + m.classes * cell + 112
    var canvas = Canvas(width: Swift.max(width, Canvas.textWidth(title, scale: 2) + 24), height: height)
    canvas.text(title, x: 12, y: 10, scale: 2)
    canvas.text(String(format: "%@ test images, accuracy %.3f. Rows: the true class; columns: the predicted class.",
                       groupDigits(m.counts.joined().reduce(0, +)), m.accuracy), x: 12, y: 36, .gray)
    canvas.text("predicted", x: left + m.classes * cell / 2 - Canvas.textWidth("predicted") / 2, y: top - 38)
    canvas.verticalText("true class", x: 6, y: top + m.classes * cell / 2 + Canvas.textWidth("true class") / 2)
    for (p, name) in classNames.enumerated() {
        // Column labels, short enough to fit above a cell: the first word, cut to the cell.
        var short = String(name.split(separator: " ").first ?? "")
        while Canvas.textWidth(short) > cell - 4 && short.count > 1 { short.removeLast() }
        canvas.text(short, x: left + p * cell + cell / 2 - Canvas.textWidth(short) / 2, y: top - 18)
    }
    canvas.text("accuracy", x: left + m.classes * cell + 12, y: top - 18)
    for t in 0..<m.classes {
        let y = top + t * cell
        canvas.text(classNames[t], x: left - 8 - Canvas.textWidth(classNames[t]), y: y + cell / 2 - Canvas.textHeight() / 2)
        for p in 0..<m.classes {
            let rate = m.rate(t, p), x = left + p * cell
            canvas.fill(x: x, y: y, w: cell, h: cell, Colormap.sequential(Float(rate)))
            let count = groupDigits(m.counts[t][p])
            canvas.text(count, x: x + cell / 2 - Canvas.textWidth(count) / 2, y: y + cell / 2 - Canvas.textHeight() / 2,
                        rate > 0.5 ? .white : .black, bold: t == p)
        }
        let accuracy = String(format: "%.3f", m.perClassAccuracy[t])
        canvas.text(accuracy, x: left + m.classes * cell + 12, y: y + cell / 2 - Canvas.textHeight() / 2)
    }
    canvas.frame(x: left - 1, y: top - 1, w: m.classes * cell + 2, h: m.classes * cell + 2, .gray)
    canvas.colorBar(x: left, y: top + m.classes * cell + 24, w: 240, colormap: Colormap.sequential,
                    low: "0", high: "1", middle: "0.5", label: "share of the true class's images")
    if let worst = m.worstConfusion {
        canvas.text("Most often confused: \(classNames[worst.truth]) taken for \(classNames[worst.predicted]) (\(worst.count) times).",
                    x: 12, y: height - 28)
    }
    return canvas
}
