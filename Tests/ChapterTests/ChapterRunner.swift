import Foundation
import Testing

/// Runs a chapter executable built next to the test bundle and captures what it prints.
struct ChapterRunner {
    struct Result {
        let status: Int32
        let stdout: String
        let stderr: String
        var all: String { stdout + stderr }
    }

    /// The folder holding the built products (the test runner lives there too).
    static var productsDirectory: URL {
        URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    }

    /// A program started and not yet waited for.
    struct Running {
        let process: Process
        let base: String

        /// Waits for the program to end and returns what it printed.
        func wait() -> Result {
            process.waitUntilExit()
            defer { try? FileManager.default.removeItem(atPath: base + ".out"); try? FileManager.default.removeItem(atPath: base + ".err") }
            let outData = FileManager.default.contents(atPath: base + ".out") ?? Data()
            let errData = FileManager.default.contents(atPath: base + ".err") ?? Data()
            return Result(status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
                          stderr: String(decoding: errData, as: UTF8.self))
        }
    }

    /// Starts a program without waiting for it (see `run`).
    static func start(_ name: String, _ arguments: [String]) throws -> Running {
        let process = Process()
        process.executableURL = name.hasPrefix("/") ? URL(fileURLWithPath: name) : productsDirectory.appendingPathComponent(name)
        process.arguments = arguments
        // Output goes to files, so a chatty run can never block on a full pipe.
        let base = NSTemporaryDirectory() + "chapter-run-\(getpid())-\(UInt64.random(in: 0...UInt64.max))"
        #expect(FileManager.default.createFile(atPath: base + ".out", contents: nil), "could not create a test file")
        #expect(FileManager.default.createFile(atPath: base + ".err", contents: nil), "could not create a test file")
        process.standardOutput = FileHandle(forWritingAtPath: base + ".out")
        process.standardError = FileHandle(forWritingAtPath: base + ".err")
        try process.run()
        return Running(process: process, base: base)
    }

    /// - Parameter name: a chapter executable, or an absolute path to another program.
    static func run(_ name: String, _ arguments: [String]) throws -> Result {
        try start(name, arguments).wait()
    }

    /// A fresh empty folder for a run's outputs.
    static func temporaryFolder(_ name: String) -> String {
        let dir = NSTemporaryDirectory() + "modern-cnns-chapter-\(getpid())-\(name)"
        try? FileManager.default.removeItem(atPath: dir)
        return dir
    }
}
