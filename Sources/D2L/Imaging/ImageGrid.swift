/// A grid of gray images with a caption under each: the training batch as the network sees it
/// (`inputs.png`), or the test images it got wrong (`mistakes.png`).
/// - Parameters:
///   - images: side×side values in [0, 1], row-major (the network's input, after the resize).
///   - captions: one or two lines under each image ("\n" separates them); `highlight` draws a
///     caption's second line in red.
public func imageGrid(_ images: [[Float]], side: Int, captions: [String], columns: Int, title: String,
                      subtitle: String = "", highlight: Bool = false) -> Canvas {
    precondition(images.count == captions.count && images.allSatisfy { $0.count == side * side })
    let zoom = Swift.max(1, 84 / side), cell = side * zoom
    let lines = captions.map { $0.split(separator: "\n").count }.max() ?? 1
    let captionH = lines * (Canvas.textHeight() + 1) + 6
    let captionW = captions.flatMap { $0.split(separator: "\n") }.map { Canvas.textWidth(String($0)) }.max() ?? 0
    let columnW = Swift.max(cell, captionW) + 14
    let columns = Swift.max(1, Swift.min(columns, images.count))
    let rows = (images.count + columns - 1) / columns
    let top = subtitle.isEmpty ? 44 : 62, left = 12
    let width = Swift.max(left * 2 + columns * columnW, Canvas.textWidth(title, scale: 2) + 24, Canvas.textWidth(subtitle) + 24)
    var canvas = Canvas(width: Swift.max(width, 420), height: top + rows * (cell + captionH + 10) + 46)
    canvas.text(title, x: 12, y: 10, scale: 2)
    if !subtitle.isEmpty { canvas.text(subtitle, x: 12, y: 36, .gray) }
    for (i, image) in images.enumerated() {
        let x = left + (i % columns) * columnW + (columnW - cell) / 2, y = top + (i / columns) * (cell + captionH + 10)
        canvas.image(image, w: side, h: side, x: x, y: y, zoom: zoom)
        canvas.frame(x: x - 1, y: y - 1, w: cell + 2, h: cell + 2, .gray)
        for (n, line) in captions[i].split(separator: "\n").enumerated() {
            let text = String(line)
            canvas.text(text, x: x + cell / 2 - Canvas.textWidth(text) / 2, y: y + cell + 4 + n * (Canvas.textHeight() + 1),
                        highlight && n == 1 ? RGB(190, 30, 30) : .black)
        }
    }
    canvas.colorBar(x: 24, y: canvas.height - 38, w: 160, colormap: Colormap.gray, low: "0", high: "1",
                    label: "pixel value, as the network gets it")
    return canvas
}
