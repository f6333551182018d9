import D2L
import Foundation

/// Everything a run prints, kept as it goes so that report.html can show it: standard output
/// goes through a pipe to a reader thread that passes every byte on to where it went before
/// (the terminal shows exactly what it would without a transcript) and keeps a copy.
///
/// Narration's headings and paragraphs, and pictures as they are written, travel in the same
/// stream as marker lines (a record-separator byte, a kind letter, the text with its line
/// breaks replaced by unit separators): so they keep their place among the printed lines, the
/// reader turns them into what the terminal shows, and the report into headings, paragraphs
/// and images.
public final class Transcript: @unchecked Sendable {
    /// One thing the run showed, in order.
    public enum Event: Equatable {
        case heading(String)
        case paragraph(String)
        /// Printed text (printouts, result lines, tables), as it reached the terminal.
        case output(String)
        /// A picture file in the output folder.
        case picture(String)
    }

    /// The transcript being kept, if any (narration consults it).
    nonisolated(unsafe) public private(set) static var active: Transcript?

    private static let marker: UInt8 = 0x1E, separator: UInt8 = 0x1F

    private let terminal: Int32
    private let readEnd: Int32
    private let done = DispatchSemaphore(value: 0)
    private let lock = NSLock()
    private var recorded: [Event] = []
    private var pendingOutput: [UInt8] = []

    /// Starts keeping the transcript of standard output; nil if a pipe cannot be made (the run
    /// then goes on without a report of its output).
    public static func start() -> Transcript? {
        guard active == nil else { return active }
        _ = ProgressBar.stdoutIsTerminal   // asked while standard output is still the terminal
        fflush(nil)
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { return nil }
        let saved = dup(STDOUT_FILENO)
        guard saved >= 0, dup2(fds[1], STDOUT_FILENO) >= 0 else {
            close(fds[0]); close(fds[1]); if saved >= 0 { close(saved) }
            return nil
        }
        close(fds[1])
        let transcript = Transcript(terminal: saved, readEnd: fds[0])
        let thread = Thread { transcript.pump() }
        thread.start()
        active = transcript
        return transcript
    }

    private init(terminal: Int32, readEnd: Int32) {
        self.terminal = terminal
        self.readEnd = readEnd
    }

    /// Writes a marker into standard output (so it keeps its place among printed lines).
    func mark(_ event: Event) {
        let (kind, text): (UInt8, String) = switch event {
        case .heading(let t): (UInt8(ascii: "H"), t)
        case .paragraph(let t): (UInt8(ascii: "P"), t)
        case .picture(let t): (UInt8(ascii: "I"), t)
        case .output(let t): (UInt8(ascii: "O"), t)
        }
        var bytes: [UInt8] = [Self.marker, kind]
        bytes += text.utf8.map { $0 == UInt8(ascii: "\n") ? Self.separator : $0 }
        bytes.append(UInt8(ascii: "\n"))
        fflush(nil)
        bytes.withUnsafeBytes { writeAll(STDOUT_FILENO, $0) }
    }

    /// Stops keeping the transcript: standard output goes straight to the terminal again, and
    /// every byte printed so far has reached it. Returns what was shown.
    public func stop() -> [Event] {
        fflush(nil)
        if Self.active === self {
            dup2(terminal, STDOUT_FILENO)   // closes the pipe's last write end: the reader sees the end
            Self.active = nil
            done.wait()
            close(readEnd)
        }
        lock.lock(); defer { lock.unlock() }
        return recorded
    }

    /// The reader: passes bytes on to the terminal as they come, turns marker lines into what
    /// they stand for, and records both.
    private func pump() {
        var buffer = [UInt8](repeating: 0, count: 1 << 14)
        var inMarker = false, markerBytes: [UInt8] = []
        while true {
            let n = buffer.withUnsafeMutableBytes { read(readEnd, $0.baseAddress, $0.count) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { break }
            var passThrough: [UInt8] = []
            for byte in buffer[0..<n] {
                if inMarker {
                    if byte == UInt8(ascii: "\n") {
                        inMarker = false
                        shown(markerBytes).withUnsafeBytes { writeAll(terminal, $0) }
                        markerBytes = []
                    } else {
                        markerBytes.append(byte)
                    }
                } else if byte == Self.marker {
                    inMarker = true
                    flushOutput(passThrough); passThrough = []
                } else {
                    passThrough.append(byte)
                }
            }
            flushOutput(passThrough)
        }
        lock.lock()
        if !pendingOutput.isEmpty { recorded.append(.output(String(decoding: pendingOutput, as: UTF8.self))); pendingOutput = [] }
        lock.unlock()
        done.signal()
    }

    /// Printed bytes: on to the terminal, and into the current output event.
    private func flushOutput(_ bytes: [UInt8]) {
        guard !bytes.isEmpty else { return }
        bytes.withUnsafeBytes { writeAll(terminal, $0) }
        lock.lock()
        pendingOutput += bytes
        lock.unlock()
    }

    /// Records a marker's event and returns what the terminal shows for it.
    private func shown(_ marker: [UInt8]) -> [UInt8] {
        guard let kind = marker.first else { return [] }
        let text = String(decoding: marker.dropFirst().map { $0 == Self.separator ? UInt8(ascii: "\n") : $0 }, as: UTF8.self)
        let event: Event
        var display = ""
        switch kind {
        case UInt8(ascii: "H"): event = .heading(text); display = Narration.headingText(text) + "\n"
        case UInt8(ascii: "P"): event = .paragraph(text); display = Narration.paragraphText(text) + "\n"
        case UInt8(ascii: "I"): event = .picture(text)
        default: event = .output(text); display = text
        }
        lock.lock()
        if !pendingOutput.isEmpty { recorded.append(.output(String(decoding: pendingOutput, as: UTF8.self))); pendingOutput = [] }
        recorded.append(event)
        lock.unlock()
        return Array(display.utf8)
    }
}

/// Writes all of `bytes` to `fd`, retrying short writes.
private func writeAll(_ fd: Int32, _ bytes: UnsafeRawBufferPointer) {
    var offset = 0
    while offset < bytes.count {
        let n = write(fd, bytes.baseAddress! + offset, bytes.count - offset)
        if n < 0 && errno == EINTR { continue }
        guard n > 0 else { return }
        offset += n
    }
}
