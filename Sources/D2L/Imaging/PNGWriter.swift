import CPNG
import Foundation

/// Problems writing an image.
public struct ImageWriteError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "cannot write \(path): \(reason)" }
}

/// Writes 8-bit RGB pixels (row-major, 3 bytes each) as a PNG through libpng's simplified
/// API (no setjmp needed: libpng catches its own errors and reports them in `message`).
/// The file appears atomically: it is written to a temporary name and renamed into place,
/// so an interrupted write never leaves a truncated image.
public func writePNG(path: String, width: Int, height: Int, rgb pixels: [UInt8]) throws {
    guard width > 0, height > 0, pixels.count == width * height * 3 else {
        throw ImageWriteError(path: path, reason: "\(pixels.count) bytes for a \(width)×\(height) RGB image")
    }
    let temp = path + ".tmp-\(getpid())"
    var image = png_image()
    image.version = png_uint_32(PNG_IMAGE_VERSION)
    image.width = png_uint_32(width)
    image.height = png_uint_32(height)
    image.format = png_uint_32(PNG_FORMAT_RGB)
    let ok = pixels.withUnsafeBytes { buf in
        png_image_write_to_file(&image, temp, 0, buf.baseAddress, png_int_32(width * 3), nil)
    }
    if ok == 0 {
        let message = withUnsafeBytes(of: &image.message) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        png_image_free(&image)
        unlink(temp)
        throw ImageWriteError(path: path, reason: message)
    }
    png_image_free(&image)
    guard rename(temp, path) == 0 else {
        let reason = String(cString: strerror(errno))
        unlink(temp)
        throw ImageWriteError(path: path, reason: reason)
    }
}

/// Reads a PNG back as 8-bit RGB (for tests and for checking written files).
public func readPNG(path: String) throws -> (width: Int, height: Int, rgb: [UInt8]) {
    var image = png_image()
    image.version = png_uint_32(PNG_IMAGE_VERSION)
    guard png_image_begin_read_from_file(&image, path) != 0 else {
        let message = withUnsafeBytes(of: &image.message) { raw in
            String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
        }
        throw ImageWriteError(path: path, reason: "cannot read PNG: \(message)")
    }
    image.format = png_uint_32(PNG_FORMAT_RGB)
    let width = Int(image.width), height = Int(image.height)
    var pixels = [UInt8](repeating: 0, count: width * height * 3)
    let ok = pixels.withUnsafeMutableBytes { buf in
        png_image_finish_read(&image, nil, buf.baseAddress, png_int_32(width * 3), nil)
    }
    png_image_free(&image)
    guard ok != 0 else { throw ImageWriteError(path: path, reason: "cannot decode PNG") }
    return (width, height, pixels)
}
