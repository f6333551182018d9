import CCairo
import Foundation

/// A colour, 8 bits per channel.
public struct RGB: Equatable, Sendable {
    public var r: UInt8, g: UInt8, b: UInt8
    public init(_ r: UInt8, _ g: UInt8, _ b: UInt8) { self.r = r; self.g = g; self.b = b }
    public static let white = RGB(255, 255, 255), black = RGB(0, 0, 0)
    public static let gray = RGB(110, 110, 110), lightGray = RGB(225, 225, 225)
    /// Matplotlib's first default colours (d2l's plots use them).
    public static let palette = [RGB(31, 119, 180), RGB(255, 127, 14), RGB(44, 160, 44),
                                 RGB(214, 39, 40), RGB(148, 103, 189), RGB(140, 86, 75),
                                 RGB(227, 119, 194), RGB(127, 127, 127)]
}

/// An RGB raster to draw figures on, drawn by cairo: filled rectangles on the pixel grid,
/// anti-aliased lines, text in DejaVu Sans (through fontconfig), and images put pixel by pixel.
/// Coordinates are pixels from the top-left corner. `pixels` reads the raster as RGB bytes,
/// which the libpng writer saves.
public struct Canvas {
    public let width: Int, height: Int
    private let surface: CairoSurface

    /// Text sizes in pixels: `scale` 1 is the body size (labels, ticks), 2 a title.
    static func fontSize(_ scale: Int) -> Double { scale <= 1 ? 12 : 11 + 6 * Double(scale - 1) }

    public init(width: Int, height: Int, background: RGB = .white) {
        precondition(width > 0 && height > 0)
        self.width = width; self.height = height
        surface = CairoSurface(width: width, height: height)
        fill(x: 0, y: 0, w: width, h: height, background)
    }

    /// The raster as RGB bytes, row-major.
    public var pixels: [UInt8] {
        cairo_surface_flush(surface.surface)
        let stride = Int(cairo_image_surface_get_stride(surface.surface))
        let data = cairo_image_surface_get_data(surface.surface)!
        var out = [UInt8](repeating: 0, count: width * height * 3)
        for y in 0..<height {
            let row = UnsafeRawPointer(data + y * stride).assumingMemoryBound(to: UInt32.self)
            for x in 0..<width {
                let v = row[x]   // ARGB32 in native byte order; opaque, so not premultiplied in effect
                out[(y * width + x) * 3] = UInt8((v >> 16) & 0xFF)
                out[(y * width + x) * 3 + 1] = UInt8((v >> 8) & 0xFF)
                out[(y * width + x) * 3 + 2] = UInt8(v & 0xFF)
            }
        }
        return out
    }

    private func setColor(_ c: RGB, alpha: Double = 1) {
        cairo_set_source_rgba(surface.context, Double(c.r) / 255, Double(c.g) / 255, Double(c.b) / 255, alpha)
    }

    /// A filled rectangle on whole pixels.
    public mutating func fill(x: Int, y: Int, w: Int, h: Int, _ c: RGB) {
        guard w > 0, h > 0 else { return }
        setColor(c)
        cairo_rectangle(surface.context, Double(x), Double(y), Double(w), Double(h))
        cairo_fill(surface.context)
    }

    /// A translucent filled rectangle (a shaded band behind a curve).
    public mutating func shade(x: Int, y: Int, w: Int, h: Int, _ c: RGB, alpha: Double) {
        guard w > 0, h > 0 else { return }
        setColor(c, alpha: alpha)
        cairo_rectangle(surface.context, Double(x), Double(y), Double(w), Double(h))
        cairo_fill(surface.context)
    }

    /// A translucent filled polygon (a confidence band around a curve).
    public mutating func shade(polygon points: [(Int, Int)], _ c: RGB, alpha: Double) {
        guard let first = points.first, points.count >= 3 else { return }
        let cr = surface.context
        setColor(c, alpha: alpha)
        cairo_move_to(cr, Double(first.0) + 0.5, Double(first.1) + 0.5)
        for p in points.dropFirst() { cairo_line_to(cr, Double(p.0) + 0.5, Double(p.1) + 0.5) }
        cairo_close_path(cr)
        cairo_fill(cr)
    }

    /// A 1-pixel rectangle outline.
    public mutating func frame(x: Int, y: Int, w: Int, h: Int, _ c: RGB) {
        fill(x: x, y: y, w: w, h: 1, c); fill(x: x, y: y + h - 1, w: w, h: 1, c)
        fill(x: x, y: y, w: 1, h: h, c); fill(x: x + w - 1, y: y, w: 1, h: h, c)
    }

    /// An anti-aliased straight line through the centres of pixels (x0, y0) and (x1, y1);
    /// dashed: 4 pixels on, 3 off.
    public mutating func line(_ x0: Int, _ y0: Int, _ x1: Int, _ y1: Int, _ c: RGB, thickness: Int = 1, dashed: Bool = false) {
        polyline([(x0, y0), (x1, y1)], c, thickness: thickness, dashed: dashed)
    }

    /// An anti-aliased line through several points, joined smoothly.
    public mutating func polyline(_ points: [(Int, Int)], _ c: RGB, thickness: Int = 1, dashed: Bool = false) {
        guard let first = points.first else { return }
        let cr = surface.context
        setColor(c)
        cairo_set_line_width(cr, Double(thickness))
        cairo_set_line_join(cr, CAIRO_LINE_JOIN_ROUND)
        cairo_set_line_cap(cr, dashed ? CAIRO_LINE_CAP_BUTT : CAIRO_LINE_CAP_ROUND)
        if dashed { var pattern = [4.0, 3.0]; cairo_set_dash(cr, &pattern, 2, 0) }
        cairo_move_to(cr, Double(first.0) + 0.5, Double(first.1) + 0.5)
        for p in points.dropFirst() { cairo_line_to(cr, Double(p.0) + 0.5, Double(p.1) + 0.5) }
        if points.count == 1 { cairo_line_to(cr, Double(first.0) + 0.5, Double(first.1) + 0.5) }
        cairo_stroke(cr)
        cairo_set_dash(cr, nil, 0, 0)
    }

    /// A filled circle (a data point's marker).
    public mutating func dot(_ x: Int, _ y: Int, radius: Double, _ c: RGB) {
        setColor(c)
        cairo_arc(surface.context, Double(x) + 0.5, Double(y) + 0.5, radius, 0, 2 * Double.pi)
        cairo_fill(surface.context)
    }

    /// Draws `text` with its top-left corner at (x, y); `scale` 1 is the body size, 2 a title.
    public mutating func text(_ text: String, x: Int, y: Int, _ c: RGB = .black, scale: Int = 1, bold: Bool = false) {
        let cr = surface.context
        Self.selectFont(cr, scale: scale, bold: bold)
        var extents = cairo_font_extents_t()
        cairo_font_extents(cr, &extents)
        setColor(c)
        cairo_move_to(cr, Double(x), Double(y) + extents.ascent)
        cairo_show_text(cr, text)
        cairo_new_path(cr)
    }

    /// Draws `text` rotated 90° counter-clockwise (reading bottom to top) with the bottom of its
    /// first letter at (x, y): a y-axis label.
    public mutating func verticalText(_ text: String, x: Int, y: Int, _ c: RGB = .black, scale: Int = 1) {
        let cr = surface.context
        Self.selectFont(cr, scale: scale, bold: false)
        var extents = cairo_font_extents_t()
        cairo_font_extents(cr, &extents)
        cairo_save(cr)
        cairo_translate(cr, Double(x) + extents.ascent, Double(y))
        cairo_rotate(cr, -Double.pi / 2)
        setColor(c)
        cairo_move_to(cr, 0, 0)
        cairo_show_text(cr, text)
        cairo_new_path(cr)
        cairo_restore(cr)
    }

    /// Width in pixels that `text` takes at `scale`.
    public static func textWidth(_ text: String, scale: Int = 1, bold: Bool = false) -> Int {
        let cr = measuring.context
        selectFont(cr, scale: scale, bold: bold)
        var extents = cairo_text_extents_t()
        cairo_text_extents(cr, text, &extents)
        return Int(extents.x_advance.rounded(.up))
    }

    /// Height of a line of text at `scale` (ascent + descent).
    public static func textHeight(scale: Int = 1) -> Int {
        let cr = measuring.context
        selectFont(cr, scale: scale, bold: false)
        var extents = cairo_font_extents_t()
        cairo_font_extents(cr, &extents)
        return Int((extents.ascent + extents.descent).rounded(.up))
    }

    /// Copies a gray image (values 0…1, row-major h×w) scaled up by `zoom`, through `colormap`.
    public mutating func image(_ values: [Float], w: Int, h: Int, x: Int, y: Int, zoom: Int,
                               colormap: (Float) -> RGB = Colormap.gray) {
        image(w: w, h: h, x: x, y: y, zoom: zoom) { colormap(values[$0]) }
    }

    /// Puts an image whose pixel i (row-major, h×w) has colour `color(i)`, each pixel zoom×zoom.
    public mutating func image(w: Int, h: Int, x: Int, y: Int, zoom: Int, color: (Int) -> RGB) {
        cairo_surface_flush(surface.surface)
        let stride = Int(cairo_image_surface_get_stride(surface.surface))
        let data = cairo_image_surface_get_data(surface.surface)!
        for r in 0..<h { for c in 0..<w {
            let rgb = color(r * w + c)
            let v = 0xFF00_0000 | UInt32(rgb.r) << 16 | UInt32(rgb.g) << 8 | UInt32(rgb.b)
            for yy in (y + r * zoom)..<(y + (r + 1) * zoom) where yy >= 0 && yy < height {
                let row = UnsafeMutableRawPointer(data + yy * stride).assumingMemoryBound(to: UInt32.self)
                for xx in (x + c * zoom)..<(x + (c + 1) * zoom) where xx >= 0 && xx < width { row[xx] = v }
            }
        }}
        cairo_surface_mark_dirty(surface.surface)
    }

    /// Writes the canvas as a PNG (atomically).
    public func writePNG(to path: String) throws {
        try D2L.writePNG(path: path, width: width, height: height, rgb: pixels)
    }

    private static func selectFont(_ cr: OpaquePointer, scale: Int, bold: Bool) {
        cairo_select_font_face(cr, "DejaVu Sans", CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL)
        cairo_set_font_size(cr, fontSize(scale))
    }

    /// A 1×1 surface whose context measures text.
    nonisolated(unsafe) private static let measuring = CairoSurface(width: 1, height: 1)
}

/// A cairo image surface and its drawing context, destroyed together.
final class CairoSurface {
    let surface: OpaquePointer
    let context: OpaquePointer

    init(width: Int, height: Int) {
        surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, Int32(width), Int32(height))
        precondition(cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS, "cannot create a \(width)×\(height) picture")
        context = cairo_create(surface)
        let options = cairo_font_options_create()
        cairo_font_options_set_antialias(options, CAIRO_ANTIALIAS_GRAY)
        cairo_font_options_set_hint_style(options, CAIRO_HINT_STYLE_SLIGHT)
        cairo_font_options_set_hint_metrics(options, CAIRO_HINT_METRICS_ON)
        cairo_set_font_options(context, options)
        cairo_font_options_destroy(options)
    }

    deinit {
        cairo_destroy(context)
        cairo_surface_destroy(surface)
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
        if t < 0.5 { return mix(RGB(33, 102, 172), .white, t / 0.5) }
        return mix(.white, RGB(178, 24, 43), (t - 0.5) / 0.5)
    }

    /// White (0) to dark blue (1), for rates and counts.
    public static func sequential(_ v: Float) -> RGB {
        let t = Swift.max(0, Swift.min(1, v))
        return t < 0.5 ? mix(.white, RGB(107, 174, 214), t / 0.5) : mix(RGB(107, 174, 214), RGB(8, 48, 107), (t - 0.5) / 0.5)
    }

    /// Black (0) – red – yellow – white (1), for magnitudes such as saliency.
    public static func heat(_ v: Float) -> RGB {
        let t = Swift.max(0, Swift.min(1, v))
        if t < 1.0 / 3 { return mix(.black, RGB(200, 30, 0), t * 3) }
        if t < 2.0 / 3 { return mix(RGB(200, 30, 0), RGB(255, 220, 0), t * 3 - 1) }
        return mix(RGB(255, 220, 0), .white, t * 3 - 2)
    }

    /// a + (b − a)·s per channel, s in [0, 1].
    public static func mix(_ a: RGB, _ b: RGB, _ s: Float) -> RGB {
        let s = Swift.max(0, Swift.min(1, s))
        func m(_ p: UInt8, _ q: UInt8) -> UInt8 { UInt8((Float(p) + (Float(q) - Float(p)) * s).rounded()) }
        return RGB(m(a.r, b.r), m(a.g, b.g), m(a.b, b.b))
    }
}
