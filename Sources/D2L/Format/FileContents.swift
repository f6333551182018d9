import Foundation

/// The bytes of a whole file, read with open/read. (Foundation's `FileManager.contents(atPath:)`
/// leaks a 4 KiB buffer for an empty file, which the fuzzer found.)
/// - Returns: nil if the file cannot be opened or read; `errno` says why.
public func fileContents(atPath path: String) -> Data? {
    let fd = open(path, O_RDONLY)
    guard fd >= 0 else { return nil }
    defer { close(fd) }
    var data = Data()
    var info = stat()
    if fstat(fd, &info) == 0 && info.st_size > 0 { data.reserveCapacity(Int(info.st_size)) }
    var chunk = [UInt8](repeating: 0, count: 1 << 16)
    while true {
        let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
        if n < 0 && errno == EINTR { continue }
        if n < 0 { return nil }
        if n == 0 { return data }
        data.append(contentsOf: chunk[0..<n])
    }
}
