import CZlib
import Foundation

/// The IDX format of (Fashion-)MNIST, read through zlib so `.gz` and plain files both work.
///
/// Layout: magic = 0x00 0x00 <type> <rank>, then `rank` big-endian UInt32 extents, then the
/// values row-major. We accept only type 0x08 (unsigned byte), the only one these files use.
public struct IDXFile {
    public let path: String
    /// The extents of what was read (axis 0: the items read, at most `maxItems`).
    public let dims: [Int]
    /// The number of items the header announces (all of which were checked to be in the file).
    public let announced: Int
    public let bytes: [UInt8]

    /// Reads the file, checking the magic, the rank, that the payload is complete and that the
    /// gzip stream is intact to its end (its CRC), also past the items a limit leaves unread.
    /// - Parameters:
    ///   - expectedRank: 3 for images, 1 for labels.
    ///   - maxItems: read only the first `maxItems` items along axis 0 (nil: all of them).
    public init(path: String, expectedRank: Int, maxItems: Int? = nil) throws {
        self.path = path
        guard FileManager.default.isReadableFile(atPath: path) else {
            throw DataError.unreadable(path: path, reason: FileManager.default.fileExists(atPath: path) ? "permission denied" : "no such file")
        }
        guard let gz = gzopen(path, "rb") else { throw DataError.unreadable(path: path, reason: "gzopen failed") }
        defer { gzclose(gz) }
        gzbuffer(gz, 1 << 17)

        let magic = try Self.read(gz, count: 4, path: path, what: "the header")
        guard magic[0] == 0, magic[1] == 0 else {
            throw DataError.badHeader(path: path, reason: String(format: "magic bytes %02x %02x %02x %02x do not start with 00 00", magic[0], magic[1], magic[2], magic[3]))
        }
        guard magic[2] == 0x08 else {
            throw DataError.badHeader(path: path, reason: String(format: "value type 0x%02x, expected 0x08 (unsigned byte)", magic[2]))
        }
        guard Int(magic[3]) == expectedRank else {
            throw DataError.badHeader(path: path, reason: "\(magic[3]) dimensions, expected \(expectedRank) (\(expectedRank == 3 ? "an image file" : "a label file"))")
        }
        let header = try Self.read(gz, count: 4 * expectedRank, path: path, what: "the dimensions")
        var dims: [Int] = []
        for i in 0..<expectedRank {
            var v: UInt32 = 0
            for j in 0..<4 { v = v << 8 | UInt32(header[4 * i + j]) }
            dims.append(Int(v))
        }
        guard dims.dropFirst().allSatisfy({ $0 > 0 && $0 <= 4096 }) else {
            throw DataError.badHeader(path: path, reason: "implausible item shape \(Array(dims.dropFirst()))")
        }
        guard dims[0] <= 10_000_000 else {
            throw DataError.badHeader(path: path, reason: "implausible item count \(dims[0])")
        }
        let items = Swift.min(dims[0], maxItems ?? dims[0])
        let itemSize = dims.dropFirst().reduce(1, *)
        self.bytes = try Self.read(gz, count: items * itemSize, path: path,
                                   what: "\(items) items (the header announces \(dims[0]))")
        // The rest is read too, in chunks, and dropped: so a damaged end of the file, or a CRC
        // that does not match, is found even when a limit reads only the first items.
        var left = (dims[0] - items) * itemSize
        while left > 0 {
            let chunk = Swift.min(left, 1 << 22)
            _ = try Self.read(gz, count: chunk, path: path, what: "the \(dims[0]) items the header announces")
            left -= chunk
        }
        var extra: UInt8 = 0
        let r = gzread(gz, &extra, 1)
        if r > 0 {
            throw DataError.badHeader(path: path, reason: "extra bytes after the \(dims[0]) items the header announces")
        } else if r < 0 {
            var errnum: Int32 = 0
            let msg = gzerror(gz, &errnum).map { String(cString: $0) } ?? "unknown zlib error"
            throw DataError.damaged(path: path, reason: "zlib: \(msg) at the end of the file")
        }
        announced = dims[0]
        dims[0] = items
        self.dims = dims
    }

    /// Reads exactly `count` bytes or throws `damaged` naming what was being read. Memory grows
    /// with the bytes actually read, so a damaged header that announces terabytes costs nothing.
    private static func read(_ gz: gzFile, count: Int, path: String, what: String) throws -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(Swift.min(count, 1 << 26))
        var chunk = [UInt8](repeating: 0, count: Swift.min(count, 1 << 20))
        while out.count < count {
            let want = Swift.min(chunk.count, count - out.count)
            let r = chunk.withUnsafeMutableBytes { gzread(gz, $0.baseAddress!, UInt32(want)) }
            if r <= 0 {
                var errnum: Int32 = 0
                let msg = gzerror(gz, &errnum).map { String(cString: $0) } ?? ""
                let reason = r == 0 || errnum == Z_BUF_ERROR
                    ? "ends after \(out.count) of \(count) bytes of \(what)" : "zlib: \(msg) while reading \(what)"
                throw DataError.damaged(path: path, reason: reason)
            }
            out.append(contentsOf: chunk[0..<Int(r)])
        }
        return out
    }
}
