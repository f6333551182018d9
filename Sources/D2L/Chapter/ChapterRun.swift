import CSystem
import Foundation

/// What every chapter does around its narration: the start-up banner (build mode, threads,
/// BLAS, seed), the output folder, loading the data, and writing metrics and pictures.
public final class ChapterRun {
    public let name: String
    public let options: ChapterOptions
    public let outDir: String
    public var metrics: RunMetrics
    private let started = ContinuousClock.now
    private let startedAt = Date()
    /// The run's seed (from --seed, or from the checkpoint with --resume).
    public let seed: UInt64
    /// Checkpoint files this run has written, in order.
    public internal(set) var savedCheckpoints: [String] = []

    /// Configures threads and the seed, prints the banner and checks the output folder is
    /// writable before any work starts.
    public init(name: String, options: ChapterOptions, settings: ResolvedSettings) throws {
        self.name = name
        self.options = options
        d2l_line_buffer_stdout()   // epoch lines reach a log file or `tee` as they happen
        Interruption.install()
        outDir = options.outDir ?? "out/\(name)"
        Parallel.configure(threads: options.threads ?? ProcessInfo.processInfo.activeProcessorCount)
        seed = settings.seed
        Random.seed(settings.seed)
        metrics = RunMetrics(chapter: name, settings: settings.json)
        printBanner()
        if !options.summaryOnly { try Self.prepareOutputFolder(outDir) }
    }

    private func printBanner() {
        #if DEBUG
        print("warning: debug build. The core library is optimised anyway, but `swift run -c release \(name)` is faster.")
        #endif
        print("\(name) · seed \(seed) · \(Parallel.threads) threads · OpenBLAS \(BLASInfo.coreName)")
        print()
    }

    /// Creates `dir` if needed and proves it writable by creating and removing a file.
    public static func prepareOutputFolder(_ dir: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        } catch {
            throw OutputError(path: dir, reason: "cannot create the folder (\(error.localizedDescription))")
        }
        let probe = (dir as NSString).appendingPathComponent(".write-test-\(getpid())")
        guard FileManager.default.createFile(atPath: probe, contents: Data()) else {
            throw OutputError(path: dir, reason: "the folder is not writable")
        }
        try? FileManager.default.removeItem(atPath: probe)
    }

    /// Removes the output folder again if this run has written nothing into it (a run that
    /// stops on a bad argument leaves nothing behind).
    public func removeOutputFolderIfEmpty() {
        if let items = try? FileManager.default.contentsOfDirectory(atPath: outDir), items.isEmpty {
            try? FileManager.default.removeItem(atPath: outDir)
        }
    }

    /// A path inside the output folder.
    public func path(_ file: String) -> String { (outDir as NSString).appendingPathComponent(file) }

    /// Loads Fashion-MNIST with the run's limits, saying where it came from.
    public func loadData(_ settings: ResolvedSettings) throws -> FashionMNIST {
        let data = try FashionMNIST(dataDir: options.dataDir, trainLimit: settings.settings.trainLimit,
                                    testLimit: settings.settings.testLimit)
        print("Fashion-MNIST from \(data.directory): \(groupDigits(data.train.count)) training and \(groupDigits(data.test.count)) test images.")
        return data
    }

    /// Writes metrics.json (atomically) with the wall time so far.
    public func writeMetrics(status: String? = nil) throws {
        metrics.wallSeconds = (ContinuousClock.now - started).seconds
        if let status { metrics.status = status }
        try metrics.write(to: path("metrics.json"))
    }

    public var wallSeconds: Double { (ContinuousClock.now - started).seconds }

    /// Whether `file` in the output folder was written by this run (not left from an earlier one).
    public func wroteThisRun(_ file: String) -> Bool {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path(file)),
              let modified = attributes[.modificationDate] as? Date else { return false }
        return modified >= startedAt.addingTimeInterval(-1)
    }
}

/// The output folder cannot be used.
public struct OutputError: Error, CustomStringConvertible {
    public let path: String
    public let reason: String
    public init(path: String, reason: String) { self.path = path; self.reason = reason }
    public var description: String { "output folder \(path): \(reason). Choose another with --out-dir." }
}
