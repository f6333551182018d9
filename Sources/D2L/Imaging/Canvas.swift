/// An RGB raster to draw figures on: rectangles, lines, text (built-in 5×7 font), images.
public struct RGB: Equatable, Sendable {
    public var r: UInt8, g: UInt8, b: UInt8
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) { self.r = r; self.g = g; self.b = b }
    public static let white = RGB(255, 255, 255), black = RGB(0, 0, 0)
    public static let gray = RGB(150, 150, 150), lightGray = RGB(225, 225, 225)
    /// Matplotlib's first default colours (d2l's plots use them).
    public static let palette = [RGB(31, 119, 180), RGB(255, 127, 14), RGB(44, 160, 44),
                                 RGB(214, 39, 40), RGB(148, 103, 189), RGB(140, 86, 75),
                                 RGB(227, 119, 194), RGB(127, 127, 127)]
}

public struct Canvas {
    public let width: Int, height: Int
    public private(set) var pixels: [UInt8]

    public init(width: Int, height: Int, background: RGB = .white) {
        self.width = width; self.height = height
        pixels = [UInt8](repeating: 0, count: width * height * 3)
        fill(x: 0, y: 0, w: width, h: height, background)
    }

    public mutating func set(_ x: Int, _ y: Int, _ c: RGB) {
        guard x >= 0, y >= 0, x < width, y < height else { return }
        let i = (y * width + x) * 3
        pixels[i] = c.r; pixels[i + 1] = c.g; pixels[i + 2] = c.b
    }

    public mutating func fill(x: Int, y: Int, w: Int, h: Int, _ c: RGB) {
        for yy in Swift.max(y, 0)..<Swift.min(y + h, height) {
            for xx in Swift.max(x, 0)..<Swift.min(x + w, width) { set(xx, yy, c) }
        }
    }

    /// A 1-pixel rectangle outline.
    public mutating func frame(x: Int, y: Int, w: Int, h: Int, _ c: RGB) {
        fill(x: x, y: y, w: w, h: 1, c); fill(x: x, y: y + h - 1, w: w, h: 1, c)
        fill(x: x, y: y, w: 1, h: h, c); fill(x: x + w - 1, y: y, w: 1, h: h, c)
    }

    /// A straight line (Bresenham) of the given thickness; dashed: 4 pixels on, 3 off.
    public mutating func line(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ c: RGB, thickness: Int = 1, dashed: Bool = false) {
        var x = x0, y = y0, step = 0
        let dx = Swift.abs(x1 - x0), dy = -Swift.abs(y1 - y0)
        let sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1
        var err = dx + dy
        let lo = -(thickness - 1) / 2, hi = thickness / 2
        while true {
            if !dashed || step % 7 < 4 {
                for oy in lo...hi { for ox in lo...hi { set(x + ox, y + oy, c) } }
            }
            step += 1
            if x == x1 && y == y1 { break }
            let e2 = 2 * err
            if e2 >= dy { err += dy; x += sx }
            if e2 <= dx { err += dx; y += sy }
        }
    }

    /// Draws `text` with its top-left corner at (x, y); each font pixel becomes scale×scale.
    public mutating func text(_ text: String, x: Int, y: Int, _ c: RGB = .black, scale: Int = 1) {
        var cx = x
        for ch in text.unicodeScalars {
            let columns = BitmapFont.glyph(ch)
            for (col, bits) in columns.enumerated() {
                for row in 0..<7 where bits & (1 << row) != 0 {
                    fill(x: cx + col * scale, y: y + row * scale, w: scale, h: scale, c)
                }
            }
            cx += BitmapFont.advance * scale
        }
    }

    /// Width in pixels that `text` takes at `scale`.
    public static func textWidth(_ text: String, scale: Int = 1) -> Int {
        Swift.max(0, text.unicodeScalars.count * BitmapFont.advance - 1) * scale
    }

    /// Draws `text` rotated 90° counter-clockwise (reading bottom to top), for y-axis labels.
    public mutating func verticalText(_ text: String, x: Int, y: Int, _ c: RGB = .black, scale: Int = 1) {
        var cy = y
        for ch in text.unicodeScalars {
            for (col, bits) in BitmapFont.glyph(ch).enumerated() {
                for row in 0..<7 where bits & (1 << row) != 0 {
                    fill(x: x + row * scale, y: cy - col * scale, w: scale, h: scale, c)
                }
            }
            cy -= BitmapFont.advance * scale
        }
    }

    /// Copies a gray image (values 0…1, row-major h×w) scaled up by `zoom`, through `colormap`.
    public mutating func image(_ values: [Float], w: Int, h: Int, x: Int, y: Int, zoom: Int,
                               colormap: (Float) -> RGB = Colormap.gray) {
        for r in 0..<h { for c in 0..<w {
            fill(x: x + c * zoom, y: y + r * zoom, w: zoom, h: zoom, colormap(values[r * w + c]))
        }}
    }

    /// Writes the canvas as a PNG (atomically).
    public func writePNG(to path: String) throws {
        try D2L.writePNG(path: path, width: width, height: height, rgb: pixels)
    }
}

/// Maps a value in [0, 1] to a colour.
public enum Colormap {
    public static func gray(_ v: Float) -> RGB {
        let g = UInt8(Swift.max(0, Swift.min(255, (v * 255).rounded())))
        return RGB(g, g, g)
    }
    /// Blue (0) – white (0.5) – red (1), for signed weights.
    public static func diverging(_ v: Float) -> RGB {
        let t = Swift.max(0, Swift.min(1, v))
        func mix(_ a: Float, _ b: Float, _ s: Float) -> UInt8 { UInt8((a + (b - a) * s).rounded()) }
        if t < 0.5 {
            let s = t / 0.5
            return RGB(mix(33, 255, s), mix(102, 255, s), mix(172, 255, s))
        }
        let s = (t - 0.5) / 0.5
        return RGB(mix(255, 178, s), mix(255, 24, s), mix(255, 43, s))
    }
}
