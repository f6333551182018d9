import Foundation

/// Pictures of what a network learned: the first convolution's filters as a grid.
///
/// A weight tensor (K, C, kh, kw) becomes K tiles (input channel 0 of each filter), each
/// scaled up so a tile is about 64 pixels wide. Colours are blue (negative) – white (0) –
/// red (positive), with one symmetric scale ±max|w| for the whole grid so tiles compare.
public func filterGrid(_ weight: Tensor, title: String) -> Canvas {
    precondition(weight.rank == 4)
    let (k, c, kh, kw) = (weight.shape[0], weight.shape[1], weight.shape[2], weight.shape[3])
    let zoom = Swift.max(2, 64 / Swift.max(kh, kw))
    let columns = Swift.min(k, k <= 8 ? k : (k <= 32 ? 8 : 16))
    let rows = (k + columns - 1) / columns
    let tileW = kw * zoom, tileH = kh * zoom, gap = 14
    let top = 42, left = 12, bottom = 56
    let width = Swift.max(left * 2 + columns * (tileW + gap) - gap, Canvas.textWidth(title, scale: 2) + 24, 420)
    let height = top + rows * (tileH + gap) + bottom
    var canvas = Canvas(width: width, height: height)
    canvas.text(title, x: 12, y: 10, scale: 2)
    let scale = weight.data.map { Swift.abs($0) }.max() ?? 1
    for f in 0..<k {
        let x = left + (f % columns) * (tileW + gap), y = top + (f / columns) * (tileH + gap)
        let base = f * c * kh * kw
        let tile = (0..<(kh * kw)).map { 0.5 + 0.5 * weight.data[base + $0] / Swift.max(scale, 1e-12) }
        canvas.image(tile, w: kw, h: kh, x: x, y: y, zoom: zoom, colormap: Colormap.diverging)
        canvas.frame(x: x - 1, y: y - 1, w: tileW + 2, h: tileH + 2, .gray)
    }
    let barY = height - bottom + 8
    canvas.colorBar(x: 24, y: barY, w: 200, colormap: Colormap.diverging, low: String(format: "−%.3f", scale),
                    high: String(format: "+%.3f", scale), middle: "0", label: "weight (one scale for all tiles)")
    canvas.text("\(k) filters \(kh)×\(kw), input channel 1 of \(c)", x: 12, y: height - 18, .gray)
    return canvas
}

/// Feature maps of one image through a network: the input, then one row per stage with up
/// to `maxChannels` channels, each normalised to its own min…max (gray; 1×1 maps share
/// their row's scale).
/// - Parameter stages: (label, activation of shape (1, C, H, W)).
public func featureMapGrid(input: Tensor, stages: [(String, Tensor)], title: String, maxChannels: Int = 12) -> Canvas {
    let cell = 64, gap = 8, labelW = 150, top = 40
    let rowsCount = stages.count + 1
    let width = labelW + maxChannels * (cell + gap) + 12
    let height = top + rowsCount * (cell + 22) + 44
    var canvas = Canvas(width: width, height: height)
    canvas.text(title, x: 12, y: 10, scale: 2)
    let all = [("input", input)] + stages
    for (row, (label, t)) in all.enumerated() {
        let y = top + row * (cell + 22)
        let (c, h, w) = (t.shape[1], t.shape[2], t.shape[3])
        canvas.text(label, x: 12, y: y + cell / 2 - Canvas.textHeight() - 1)
        canvas.text("\(c)×\(h)×\(w)", x: 12, y: y + cell / 2 + 1, .gray)
        // A 1×1 map has no contrast of its own: scale those across the row's channels instead.
        let shown = Array(t.data[0..<(Swift.min(c, maxChannels) * h * w)])
        let rowLo = shown.min() ?? 0, rowHi = shown.max() ?? 0
        for ch in 0..<Swift.min(c, maxChannels) {
            let plane = Array(t.data[(ch * h * w)..<((ch + 1) * h * w)])
            let lo = h * w == 1 ? rowLo : plane.min()!, hi = h * w == 1 ? rowHi : plane.max()!
            let normalised = plane.map { hi > lo ? ($0 - lo) / (hi - lo) : 0.5 }
            // Nearest-neighbour scaling so the longer side fills the cell.
            let dh = Swift.max(1, cell * h / Swift.max(h, w)), dw = Swift.max(1, cell * w / Swift.max(h, w))
            let tile = (0..<(dh * dw)).map { i in normalised[(i / dw) * h / dh * w + (i % dw) * w / dw] }
            let x = labelW + ch * (cell + gap)
            canvas.image(tile, w: dw, h: dh, x: x, y: y, zoom: 1)
            canvas.frame(x: x - 1, y: y - 1, w: dw + 2, h: dh + 2, .gray)
        }
    }
    canvas.colorBar(x: 24, y: height - 36, w: 160, colormap: Colormap.gray, low: "min", high: "max",
                    label: "each map from its own smallest to its largest value (1×1 maps: across their row)")
    return canvas
}
