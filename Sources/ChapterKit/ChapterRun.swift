import CSystem
import D2L
import Foundation

/// One run of a chapter: its settings, resolved once at start (`RunSettings`), and what every
/// chapter does around its narration: the start-up banner (build mode, threads, BLAS, seed),
/// the output folder, loading the data, and writing metrics, checkpoints and pictures.
/// A chapter asks the run (`settings`, `mode`, `startsFromSavedWeights`), never the raw flags.
public final class ChapterRun {
    public let name: String
    /// The run's settings: profile, flags and (with --resume) the checkpoint's record, resolved.
    public let settings: RunSettings
    /// The book's settings, which `announce` compares the run's with, and their edition.
    public let book: TrainConfig
    public let bookEdition: String
    public let options: ChapterOptions
    public let outDir: String
    public var metrics: RunMetrics
    /// The checkpoint files --load or --resume named, read once at start.
    var savedRun: SavedRun?
    private let started = ContinuousClock.now
    private let startedAt = Date()
    /// Checkpoint files this run has written, in order.
    public internal(set) var savedCheckpoints: [String] = []
    /// What the run prints, kept for report.html (every run that writes files keeps one).
    var transcript: Transcript?
    /// The networks (checkpoint keys) whose weights were loaded from a file.
    public internal(set) var loadedKeys: Set<String> = []

    /// What the run does (train, resume, evaluate loaded weights, print the network only).
    public var mode: RunMode { settings.mode }
    /// The training settings (a shorthand for `settings.train`).
    public var config: TrainConfig { settings.train }
    /// The run's seed (from --seed, or from the checkpoint with --resume).
    public var seed: UInt64 { settings.train.seed }
    /// Whether the networks start from saved weights (--load or --resume) instead of their
    /// initialisation.
    public var startsFromSavedWeights: Bool { options.load != nil || options.resume != nil }

    /// Resolves the settings, configures threads and the seed, prints the banner and checks the
    /// output folder is writable before any work starts.
    /// - Parameter checkpointKeys: the networks the chapter trains, one checkpoint file each
    ///   (`[""]`: one network, the file is the path itself).
    init(name: String, options: ChapterOptions, quick: TrainConfig, book: TrainConfig, bookEdition: String,
         checkpointKeys: [String]) throws {
        self.name = name
        self.options = options
        self.book = book
        self.bookEdition = bookEdition
        d2l_line_buffer_stdout()   // epoch lines reach a log file or `tee` as they happen
        Interruption.install()
        outDir = options.outDir ?? "out/\(name)"
        Parallel.configure(threads: options.threads ?? ProcessInfo.processInfo.activeProcessorCount)
        (settings, savedRun) = try RunSettings.resolve(options, quick: quick, book: book, chapter: name,
                                                       checkpointKeys: checkpointKeys, threads: Parallel.threads)
        Random.seed(settings.train.seed)
        metrics = RunMetrics(chapter: name, settings: try JSONValue(encoding: settings).objectValue)
        if mode != .summaryOnly { transcript = Transcript.start() }
        printBanner()
        do {
            if mode != .summaryOnly { try Self.prepareOutputFolder(outDir) }
        } catch {
            _ = transcript?.stop()
            throw error
        }
    }

    private func printBanner() {
        #if DEBUG
        print("warning: debug build. The core library is optimised anyway, but `swift run -c release \(name)` is faster.")
        #endif
        print("\(name) · seed \(seed) · \(Parallel.threads) threads · \(InstructionSet.description)")
        print()
    }

    /// Creates `dir` if needed, takes it for this run (`OutputFolderLock`: no second run may
    /// write into it meanwhile), and proves it writable by creating and removing a file.
    public static func prepareOutputFolder(_ dir: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        } catch {
            throw OutputError(path: dir, reason: "cannot create the folder (\(error.localizedDescription))")
        }
        try OutputFolderLock.acquire(dir)
        // Temporary files of atomic writes that a killed run left behind (no live run writes
        // here: this run holds the folder).
        for item in (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? [] where item.contains(".tmp-") {
            try? FileManager.default.removeItem(atPath: (dir as NSString).appendingPathComponent(item))
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

    /// Loads Fashion-MNIST with the run's limits (or the given ones), saying where it came from.
    public func loadData(trainLimit: Int?? = .none, testLimit: Int?? = .none) throws -> FashionMNIST {
        let data = try FashionMNIST(dataDir: options.dataDir, trainLimit: trainLimit ?? config.trainLimit,
                                    testLimit: testLimit ?? config.testLimit)
        print("Fashion-MNIST from \(data.directory): \(groupDigits(data.train.count)) training and \(groupDigits(data.test.count)) test images.")
        return data
    }

    /// Writes metrics.json (atomically) with the wall time so far.
    public func writeMetrics(status: String? = nil) throws {
        metrics.wallSeconds = wallSeconds
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
