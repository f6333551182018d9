import Foundation

/// One writer per output folder: a run holds an advisory lock (`flock`) on the folder itself
/// for as long as it lives; the kernel releases it when the process ends, however it ends.
/// A second run into the same folder is refused at start, naming the run that holds it.
enum OutputFolderLock {
    /// The folders' descriptors, kept open: closing one would release its lock.
    nonisolated(unsafe) private static var held: [String: Int32] = [:]

    static func acquire(_ dir: String) throws {
        guard held[dir] == nil else { return }
        let fd = open(dir, O_RDONLY | O_DIRECTORY)
        guard fd >= 0 else {
            throw OutputError(path: dir, reason: "cannot open the folder (\(String(cString: strerror(errno))))")
        }
        guard flock(fd, LOCK_EX | LOCK_NB) == 0 else {
            let holder = holder(of: fd)
            close(fd)
            throw OutputError(path: dir, reason: "another run is writing into it (\(holder)); wait for it to finish, or choose another folder")
        }
        held[dir] = fd
    }

    /// "pid 1234: Chapter7_6_ResNet --out-dir runs/a", from /proc/locks and the process's
    /// command line; as much of it as can be found.
    static func holder(of fd: Int32) -> String {
        var info = stat()
        guard fstat(fd, &info) == 0, let locks = try? String(contentsOfFile: "/proc/locks", encoding: .utf8) else {
            return "its process could not be named"
        }
        // "1: FLOCK  ADVISORY  WRITE 1234 08:01:123456 0 EOF"
        for line in locks.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            guard fields.count >= 6, fields[1] == "FLOCK", let pid = Int32(fields[4]),
                  fields[5].split(separator: ":").last.flatMap({ UInt64($0) }) == UInt64(info.st_ino) else { continue }
            let command = (try? Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline")))
                .map { String(decoding: $0, as: UTF8.self).split(separator: "\0").joined(separator: " ") } ?? ""
            return command.isEmpty ? "pid \(pid)" : "pid \(pid): \(command)"
        }
        return "its process could not be named"
    }
}
