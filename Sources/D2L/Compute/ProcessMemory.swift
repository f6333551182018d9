import CSystem
import Foundation

/// This process's resident memory as Linux reports it in /proc/self/status.
public enum ProcessMemory {
    /// Returns the memory the allocator holds free to the system (glibc's `malloc_trim`; the
    /// process otherwise keeps freed memory on purpose, see `Workers.keepFreedMemory`), then
    /// asks the kernel to reset the peak-RSS mark (VmHWM) to the current RSS (Linux ≥ 4.0;
    /// some sandboxes ignore it), so that the next peak measures what comes after.
    public static func resetPeak() {
        #if canImport(Glibc)
        malloc_trim(0)
        #endif
        if let h = FileHandle(forWritingAtPath: "/proc/self/clear_refs") {
            h.write(Data("5".utf8))
            h.closeFile()
        }
    }

    /// Peak resident set size since the last reset (VmHWM), in bytes; nil where unavailable.
    public static func peakBytes() -> Int? { field("VmHWM:") }

    /// Resident set size now (VmRSS), in bytes; nil where unavailable.
    public static func residentBytes() -> Int? { field("VmRSS:") }

    private static func field(_ name: String) -> Int? {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8) else { return nil }
        for line in status.split(separator: "\n") where line.hasPrefix(name) {
            return line.split(separator: " ").compactMap { Int($0) }.first.map { $0 * 1024 }
        }
        return nil
    }
}
