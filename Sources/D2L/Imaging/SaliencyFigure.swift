import Foundation

/// One row per test image: the image, its gradient saliency |∂score/∂x| (heat colours, each
/// map scaled to its own maximum), and Grad-CAM over the image (the class-activation map in
/// heat colours, blended half and half with the gray image).
public struct SaliencyRow {
    public let image: [Float]
    public let saliency: [Float]
    /// Grad-CAM upsampled to the image's size.
    public let cam: [Float]
    public let caption: String
    public init(image: [Float], saliency: [Float], cam: [Float], caption: String) {
        self.image = image; self.saliency = saliency; self.cam = cam; self.caption = caption
    }
}

/// The rows laid out in two blocks side by side; `camLayer` names where Grad-CAM was taken.
public func saliencyFigure(_ rows: [SaliencyRow], side: Int, title: String, camLayer: String) -> Canvas {
    let zoom = Swift.max(1, 64 / side), cell = side * zoom, gap = 8
    let captionW = (rows.map { Canvas.textWidth($0.caption) }.max() ?? 0) + 12
    let blockW = captionW + 3 * (cell + gap) + 24
    let blocks = rows.count > 5 ? 2 : 1, perBlock = (rows.count + blocks - 1) / blocks
    let top = 84, rowH = cell + 10
    var canvas = Canvas(width: Swift.max(12 + blocks * blockW, Canvas.textWidth(title, scale: 2) + 24),
                        height: top + perBlock * rowH + 60)
    canvas.text(title, x: 12, y: 10, scale: 2)
    canvas.text("Saliency: |∂score/∂pixel| of the true class. Grad-CAM: where \(camLayer) supports that class.", x: 12, y: 36, .gray)
    for b in 0..<blocks {
        let x0 = 12 + b * blockW
        for (i, heading) in ["image", "saliency", "Grad-CAM"].enumerated() {
            let x = x0 + captionW + i * (cell + gap)
            canvas.text(heading, x: x + cell / 2 - Canvas.textWidth(heading) / 2, y: top - 20)
        }
    }
    for (r, row) in rows.enumerated() {
        let x0 = 12 + (r / perBlock) * blockW, y = top + (r % perBlock) * rowH
        canvas.text(row.caption, x: x0, y: y + cell / 2 - Canvas.textHeight() / 2)
        let x = x0 + captionW
        canvas.image(row.image, w: side, h: side, x: x, y: y, zoom: zoom)
        let peak = Swift.max(row.saliency.max() ?? 0, 1e-12)
        canvas.image(row.saliency.map { $0 / peak }, w: side, h: side, x: x + cell + gap, y: y, zoom: zoom, colormap: Colormap.heat)
        let camPeak = Swift.max(row.cam.max() ?? 0, 1e-12)
        canvas.image(w: side, h: side, x: x + 2 * (cell + gap), y: y, zoom: zoom) { i in
            Colormap.mix(Colormap.gray(row.image[i]), Colormap.heat(row.cam[i] / camPeak), 0.5)
        }
        for k in 0..<3 { canvas.frame(x: x + k * (cell + gap) - 1, y: y - 1, w: cell + 2, h: cell + 2, .gray) }
    }
    canvas.colorBar(x: 24, y: canvas.height - 42, w: 200, colormap: Colormap.heat, low: "0", high: "max",
                    label: "each map scaled to its own maximum")
    return canvas
}
