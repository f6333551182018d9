import Foundation

/// Writes `data` to `path` so that readers see either the old file or the complete new one:
/// the bytes go to a temporary file in the same folder, are flushed to disk (`fsync`), and the
/// temporary file is renamed over `path`. If anything fails, the temporary file is removed and
/// the old file is untouched.
///
/// `failAfterBytes` simulates a crash in the middle of the write (for tests): the write stops
/// after that many bytes and throws, as a full disk or a killed process would.
public func writeAtomically(_ data: Data, to path: String, failAfterBytes: Int? = nil) throws {
    let temp = path + ".tmp-\(getpid())"
    let fd = open(temp, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
    guard fd >= 0 else {
        throw AtomicWriteError(path: path, reason: "cannot create \(temp): \(String(cString: strerror(errno)))")
    }
    var failure: String?
    data.withUnsafeBytes { raw in
        let limit = min(raw.count, failAfterBytes ?? raw.count)
        var written = 0
        while written < limit {
            let n = write(fd, raw.baseAddress! + written, min(limit - written, 1 << 24))
            if n < 0 {
                if errno == EINTR { continue }
                failure = String(cString: strerror(errno)); return
            }
            written += n
        }
        if written < raw.count { failure = "stopped after \(written) of \(raw.count) bytes" }
    }
    if failure == nil && fsync(fd) != 0 { failure = "fsync: \(String(cString: strerror(errno)))" }
    close(fd)
    if failure == nil && rename(temp, path) != 0 { failure = "rename: \(String(cString: strerror(errno)))" }
    if let failure {
        unlink(temp)
        throw AtomicWriteError(path: path, reason: failure)
    }
}

/// A file could not be written; the previous version (if any) is intact.
public struct AtomicWriteError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public var description: String { "cannot write \(path): \(reason) (any previous version of the file is intact)" }
}
