import Foundation

/// The safetensors file format (https://github.com/huggingface/safetensors), read defensively
/// and written as the reference implementation writes it:
///
///     [8 bytes: N, little-endian u64] [N bytes: JSON header] [data section]
///
/// The header maps every tensor name to `{"dtype": "F32", "shape": [..], "data_offsets": [b, e]}`
/// (offsets relative to the data section) and may hold `"__metadata__": {string: string}`.
/// The tensors must tile the data section exactly: no overlaps, no holes, nothing after the last.
/// This file knows bytes and dtypes only; `StateDict.swift` maps names to a model.
public enum SafeTensors {
    /// The element types this reader understands. F32, F16, BF16 and F64 convert to Float32;
    /// I64 and I32 hold counters such as BatchNorm's `num_batches_tracked`.
    public enum DType: String, CaseIterable, Sendable {
        case f32 = "F32", f16 = "F16", bf16 = "BF16", f64 = "F64", i64 = "I64", i32 = "I32"

        public var byteSize: Int {
            switch self {
            case .f16, .bf16: 2
            case .f32, .i32: 4
            case .f64, .i64: 8
            }
        }
        public var isFloatingPoint: Bool { self != .i64 && self != .i32 }
    }

    /// The reference implementation's limit on the header (100 MB).
    public static let maximumHeaderBytes = 100_000_000

    /// One tensor's header entry. `dtype` is nil for a dtype this reader does not convert
    /// (`rawDType` keeps its name for the error message).
    public struct Entry: Sendable {
        public let name: String
        public let rawDType: String
        public let dtype: DType?
        public let shape: [Int]
        /// Byte range inside the data section.
        public let range: Range<Int>
    }

    /// A parsed file: the header's entries and metadata plus the bytes of the data section.
    public struct File: @unchecked Sendable {
        public let entries: [String: Entry]
        public let metadata: [String: String]
        let data: Data
        let dataStart: Int

        /// The values of a floating-point (or integer) tensor converted to Float32.
        public func floats(_ entry: Entry) -> [Float] {
            guard let dtype = entry.dtype else { return [] }
            let count = entry.range.count / dtype.byteSize
            return data.withUnsafeBytes { raw -> [Float] in
                let base = raw.baseAddress! + dataStart + entry.range.lowerBound
                return (0..<count).map { i -> Float in
                    let p = base + i * dtype.byteSize
                    switch dtype {
                    case .f32: return Float(bitPattern: UInt32(littleEndian: p.loadUnaligned(as: UInt32.self)))
                    case .f64: return Float(Double(bitPattern: UInt64(littleEndian: p.loadUnaligned(as: UInt64.self))))
                    case .f16: return floatFromHalf(UInt16(littleEndian: p.loadUnaligned(as: UInt16.self)))
                    case .bf16: return Float(bitPattern: UInt32(UInt16(littleEndian: p.loadUnaligned(as: UInt16.self))) << 16)
                    case .i64: return Float(Int64(littleEndian: p.loadUnaligned(as: Int64.self)))
                    case .i32: return Float(Int32(littleEndian: p.loadUnaligned(as: Int32.self)))
                    }
                }
            }
        }

        /// The values of an integer tensor (I64/I32) exactly; floating-point values are rounded.
        public func integers(_ entry: Entry) -> [Int64] {
            guard let dtype = entry.dtype else { return [] }
            if dtype.isFloatingPoint {
                return floats(entry).map { f in f.isFinite && abs(f) < 9e18 ? Int64(f.rounded()) : -1 }
            }
            let count = entry.range.count / dtype.byteSize
            return data.withUnsafeBytes { raw -> [Int64] in
                let base = raw.baseAddress! + dataStart + entry.range.lowerBound
                return (0..<count).map { i -> Int64 in
                    let p = base + i * dtype.byteSize
                    return dtype == .i64 ? Int64(littleEndian: p.loadUnaligned(as: Int64.self))
                                         : Int64(Int32(littleEndian: p.loadUnaligned(as: Int32.self)))
                }
            }
        }
    }

    /// A tensor to write: F32 values or an I64 counter.
    public enum Payload: Sendable {
        case f32([Float])
        case i64([Int64])
    }

    // MARK: Reading

    /// Reads and validates a file. Throws `SafeTensorsError` naming the first defect found.
    public static func read(path: String) throws -> File {
        guard FileManager.default.fileExists(atPath: path) else {
            throw SafeTensorsError(path: path, problem: "no such file")
        }
        guard let data = fileContents(atPath: path) else {
            throw SafeTensorsError(path: path, problem: "cannot be read (permissions?)")
        }
        return try parse(data, path: path)
    }

    /// Only the `__metadata__` of a file, reading just its length and header (the settings a
    /// checkpoint records are needed before the weights are). The header gets the same checks as
    /// in `parse`; the data section is checked when the file is read for its weights.
    public static func readMetadata(path: String) throws -> [String: String] {
        guard let handle = FileHandle(forReadingAtPath: path) else {
            let exists = FileManager.default.fileExists(atPath: path)
            throw SafeTensorsError(path: path, problem: exists ? "cannot be read (permissions?)" : "no such file")
        }
        defer { try? handle.close() }
        let fileSize = Int(try handle.seekToEnd())
        try handle.seek(toOffset: 0)
        let length = try headerLength(try handle.read(upToCount: 8) ?? Data(), fileSize: fileSize, path: path)
        return try decodeHeader(try handle.read(upToCount: length) ?? Data(), path: path).metadata
    }

    /// Validates `data` as a safetensors file; `path` is only used in error messages.
    public static func parse(_ data: Data, path: String) throws -> File {
        func fail(_ problem: String) -> SafeTensorsError { SafeTensorsError(path: path, problem: problem) }
        let headerLength = try headerLength(data.prefix(8), fileSize: data.count, path: path)
        let header = try decodeHeader(data.subdata(in: 8..<(8 + headerLength)), path: path)
        let dataStart = 8 + headerLength
        let dataLength = data.count - dataStart
        var entries: [String: Entry] = [:]
        for (name, info) in header.tensors {
            let shape = info.shape
            guard shape.allSatisfy({ $0 >= 0 && $0 <= Int(Int32.max) }) else { throw fail("entry \(name) has an invalid shape \(shape)") }
            let (begin, end) = (info.dataOffsets[0], info.dataOffsets[1])   // two, checked by `Header`
            guard begin >= 0, begin <= end, end <= dataLength else {
                throw fail("entry \(name) has data_offsets \(info.dataOffsets) outside the \(dataLength)-byte data section; the file is truncated or damaged")
            }
            var elements = 1
            for n in shape {
                let (product, overflow) = elements.multipliedReportingOverflow(by: n)
                guard !overflow, product <= dataLength else {
                    throw fail("entry \(name) has shape \(shape), more values than the file can hold")
                }
                elements = product
            }
            let dtype = DType(rawValue: info.dtype)
            if let dtype, elements * dtype.byteSize != end - begin {
                throw fail("entry \(name): shape \(shape) of \(info.dtype) needs \(elements * dtype.byteSize) bytes but data_offsets give \(end - begin)")
            }
            entries[name] = Entry(name: name, rawDType: info.dtype, dtype: dtype, shape: shape, range: begin..<end)
        }
        let metadata = header.metadata
        // The tensors must tile the data section: sorted by offset, each starts where the last ended.
        var position = 0
        for entry in entries.values.sorted(by: { ($0.range.lowerBound, $0.range.upperBound) < ($1.range.lowerBound, $1.range.upperBound) }) {
            if entry.range.lowerBound < position { throw fail("entry \(entry.name) overlaps the tensor before it; the file is damaged") }
            if entry.range.lowerBound > position { throw fail("the data section has a gap before entry \(entry.name); the file is damaged") }
            position = entry.range.upperBound
        }
        guard position == dataLength else {
            throw fail("the data section has \(dataLength - position) bytes after the last tensor; the file is damaged")
        }
        return File(entries: entries, metadata: metadata, data: data, dataStart: dataStart)
    }

    /// The header length declared by the first 8 bytes, checked against the format's limit and
    /// the `fileSize` bytes there are.
    private static func headerLength(_ first8: Data, fileSize: Int, path: String) throws -> Int {
        func fail(_ problem: String) -> SafeTensorsError { SafeTensorsError(path: path, problem: problem) }
        guard first8.count >= 8, fileSize >= 8 else {
            throw fail("is \(fileSize) bytes long, too short for a safetensors file (at least 8 bytes of header length)")
        }
        let declared = first8.withUnsafeBytes { UInt64(littleEndian: $0.loadUnaligned(as: UInt64.self)) }
        guard declared <= UInt64(maximumHeaderBytes) else {
            throw fail("declares a \(declared)-byte header, more than the format allows (\(maximumHeaderBytes)); not a safetensors file or damaged")
        }
        let length = Int(declared)
        guard length >= 2, 8 + length <= fileSize else {
            throw fail("declares a \(length)-byte header but the file has only \(fileSize - 8) bytes after the length; the file is truncated or not safetensors")
        }
        return length
    }

    /// The header's JSON, decoded strictly.
    private static func decodeHeader(_ bytes: Data, path: String) throws -> Header {
        func fail(_ problem: String) -> SafeTensorsError { SafeTensorsError(path: path, problem: problem) }
        guard bytes.first == UInt8(ascii: "{") else {
            throw fail("header does not start with '{'; not a safetensors file")
        }
        do {
            return try JSONDecoder().decode(Header.self, from: bytes)
        } catch let e as HeaderEntryError {
            throw fail("entry \(e.name) of the header is malformed (\(e.reason)); the file is damaged")
        } catch {
            throw fail("header is not a valid JSON object; the file is damaged")
        }
    }

    /// The header: tensor entries by name, plus the optional string-to-string `__metadata__`.
    /// Decoding is strict (whole numbers must be integers, dtype a string, two offsets).
    private struct Header: Decodable {
        struct TensorInfo: Decodable {
            let dtype: String
            let shape: [Int]
            let dataOffsets: [Int]
            enum CodingKeys: String, CodingKey { case dtype, shape, dataOffsets = "data_offsets" }
        }
        struct Key: CodingKey {
            let stringValue: String
            init(stringValue: String) { self.stringValue = stringValue }
            var intValue: Int? { nil }
            init?(intValue: Int) { nil }
        }
        var tensors: [String: TensorInfo] = [:]
        var metadata: [String: String] = [:]

        init(from decoder: Decoder) throws {
            let container = try decoder.container(keyedBy: Key.self)
            for key in container.allKeys {
                do {
                    if key.stringValue == "__metadata__" {
                        metadata = try container.decode([String: String].self, forKey: key)
                    } else {
                        let info = try container.decode(TensorInfo.self, forKey: key)
                        guard info.dataOffsets.count == 2 else {
                            throw HeaderEntryError(name: key.stringValue, reason: "data_offsets must be two numbers")
                        }
                        tensors[key.stringValue] = info
                    }
                } catch let e as HeaderEntryError {
                    throw e
                } catch {
                    let reason = key.stringValue == "__metadata__" ? "metadata must map strings to strings"
                        : "needs a dtype string, a shape of whole numbers and two whole-number data_offsets"
                    throw HeaderEntryError(name: key.stringValue, reason: reason)
                }
            }
        }
    }

    private struct HeaderEntryError: Error { let name: String; let reason: String }

    // MARK: Writing

    /// The bytes of a file holding `tensors` (written in the order given) and `metadata`.
    /// The header is padded with spaces to a multiple of 8 bytes, as the reference does.
    public static func encode(_ tensors: [(name: String, shape: [Int], payload: Payload)], metadata: [String: String]) throws -> Data {
        var header: [String: Any] = [:]
        if !metadata.isEmpty { header["__metadata__"] = metadata }
        var offset = 0
        for t in tensors {
            let bytes: Int
            let dtype: String
            switch t.payload {
            case .f32(let v): bytes = v.count * 4; dtype = "F32"
            case .i64(let v): bytes = v.count * 8; dtype = "I64"
            }
            precondition(bytes / (dtype == "F32" ? 4 : 8) == t.shape.elementCount, "\(t.name): values do not fill its shape")
            header[t.name] = ["dtype": dtype, "shape": t.shape, "data_offsets": [offset, offset + bytes]] as [String: Any]
            offset += bytes
        }
        var headerBytes = try JSONSerialization.data(withJSONObject: header, options: [.sortedKeys])
        while (8 + headerBytes.count) % 8 != 0 { headerBytes.append(UInt8(ascii: " ")) }
        var out = Data(capacity: 8 + headerBytes.count + offset)
        withUnsafeBytes(of: UInt64(headerBytes.count).littleEndian) { out.append(contentsOf: $0) }
        out.append(headerBytes)
        for t in tensors {
            switch t.payload {
            case .f32(let v): v.withUnsafeBytes { out.append(contentsOf: $0) }      // x86/ARM are little-endian
            case .i64(let v): v.withUnsafeBytes { out.append(contentsOf: $0) }
            }
        }
        return out
    }
}

/// IEEE 754 half precision to Float32 (normals, subnormals, infinities and NaN).
func floatFromHalf(_ h: UInt16) -> Float {
    let sign = UInt32(h >> 15) << 31
    let exponent = Int((h >> 10) & 0x1F)
    let mantissa = UInt32(h & 0x3FF)
    switch exponent {
    case 0:
        // ±0 or subnormal: mantissa · 2⁻²⁴.
        let magnitude = Float(mantissa) * Float(sign: .plus, exponent: -24, significand: 1)
        return sign == 0 ? magnitude : -magnitude
    case 31:
        return Float(bitPattern: sign | 0x7F80_0000 | (mantissa << 13))
    default:
        return Float(bitPattern: sign | UInt32(exponent - 15 + 127) << 23 | (mantissa << 13))
    }
}

/// A file that is not a valid safetensors file.
public struct SafeTensorsError: Error, CustomStringConvertible {
    public let path: String
    public let problem: String
    public var description: String { "checkpoint \(path): \(problem)" }
}
