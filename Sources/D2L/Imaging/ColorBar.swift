extension Canvas {
    /// A horizontal colour scale: `colormap` from 0 to 1 over w×h pixels at (x, y), with the
    /// values it stands for (`low`, `high`, and `middle` when given) written under its ends and
    /// centre, and `label` to its right.
    public mutating func colorBar(x: Int, y: Int, w: Int, h: Int = 10, colormap: (Float) -> RGB,
                                  low: String, high: String, middle: String? = nil, label: String = "") {
        image(w: w, h: h, x: x, y: y, zoom: 1) { colormap(Float($0 % w) / Float(Swift.max(w - 1, 1))) }
        frame(x: x - 1, y: y - 1, w: w + 2, h: h + 2, .gray)
        text(low, x: x - Canvas.textWidth(low) / 2, y: y + h + 3, .gray)
        text(high, x: x + w - Canvas.textWidth(high) / 2, y: y + h + 3, .gray)
        if let middle { text(middle, x: x + w / 2 - Canvas.textWidth(middle) / 2, y: y + h + 3, .gray) }
        if !label.isEmpty { text(label, x: x + w + Canvas.textWidth(high) / 2 + 10, y: y + h / 2 - Canvas.textHeight() / 2, .gray) }
    }
}
