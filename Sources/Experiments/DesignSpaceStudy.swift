import D2L
import Foundation
import Models

/// The bookkeeping of a design-space study: one JSON line per trained network, resuming,
/// sharding across machines, merging shards, and the error EDFs that compare spaces.

/// One trained network of a study (one line of design-space.jsonl).
public struct StudyRecord: Codable, Sendable, Equatable {
    public var space: DesignSpace
    public var index: Int
    public var seed: UInt64
    public var architecture: AnyNetArchitecture
    public var description: String
    public var params: Int
    /// Multiply-adds of one image (`AnyNetArchitecture.multiplyAdds`), the paper's complexity.
    public var macs: Int
    public var error: Double
    public var seconds: Double
    /// The settings that must match for a record to count as already done.
    public var budgetSteps: Int
    public var batchSize: Int
    public var side: Int
    /// The band of multiply-adds the study sampled in.
    public var macsBand: [Int]
    /// The training recipe (`StudyRecipe.rawValue`); absent in records of the plain-SGD recipe.
    public var recipe: String?

    enum CodingKeys: String, CodingKey {
        case space, index, seed, architecture, description, params, macs, error, seconds
        case budgetSteps = "budget_steps", batchSize = "batch_size", side, macsBand = "macs_band", recipe
    }

    public init(space: DesignSpace, index: Int, seed: UInt64, architecture: AnyNetArchitecture, params: Int, macs: Int,
                error: Double, seconds: Double, budgetSteps: Int, batchSize: Int, side: Int, macsBand: ClosedRange<Int>,
                recipe: String? = nil) {
        self.space = space; self.index = index; self.seed = seed; self.architecture = architecture
        self.description = architecture.description; self.params = params; self.macs = macs; self.error = error
        self.seconds = seconds; self.budgetSteps = budgetSteps; self.batchSize = batchSize; self.side = side
        self.macsBand = [macsBand.lowerBound, macsBand.upperBound]
        self.recipe = recipe
    }

    /// Records with equal keys are the same experiment.
    public var key: StudyKey {
        StudyKey(space: space, index: index, seed: seed, budgetSteps: budgetSteps, batchSize: batchSize, side: side, macsBand: macsBand, recipe: recipe ?? "sgd")
    }
}

public struct StudyKey: Hashable, Sendable {
    public var space: DesignSpace, index: Int, seed: UInt64, budgetSteps: Int, batchSize: Int, side: Int, macsBand: [Int], recipe: String
    public init(space: DesignSpace, index: Int, seed: UInt64, budgetSteps: Int, batchSize: Int, side: Int, macsBand: [Int], recipe: String = "sgd") {
        self.space = space; self.index = index; self.seed = seed; self.budgetSteps = budgetSteps
        self.batchSize = batchSize; self.side = side; self.macsBand = macsBand; self.recipe = recipe
    }
}

/// A study log that cannot be read or written: the file, the line (when one is to blame) and why.
public struct StudyFileError: Error, CustomStringConvertible {
    public let path: String, line: Int?, reason: String
    public init(path: String, line: Int? = nil, reason: String) { self.path = path; self.line = line; self.reason = reason }
    public var description: String { "\(path)\(line.map { ", line \($0)" } ?? ""): \(reason)" }
}

/// Reading and appending design-space.jsonl.
public enum StudyLog {
    /// The records in a JSONL file (none if it does not exist). A damaged last line (a run
    /// killed mid-write) is skipped and reported in `skipped`; a damaged line elsewhere is an error.
    public static func read(_ path: String) throws -> (records: [StudyRecord], skipped: Int) {
        guard FileManager.default.fileExists(atPath: path) else { return ([], 0) }
        guard let data = fileContents(atPath: path) else {
            throw StudyFileError(path: path, reason: "cannot be read")
        }
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false)
        var records: [StudyRecord] = [], skipped = 0
        let decoder = JSONDecoder()
        for (i, line) in lines.enumerated() where !line.trimmingCharacters(in: .whitespaces).isEmpty {
            do {
                records.append(try decoder.decode(StudyRecord.self, from: Data(line.utf8)))
            } catch {
                let isLast = lines[(i + 1)...].allSatisfy { $0.trimmingCharacters(in: .whitespaces).isEmpty }
                guard isLast else {
                    if line.contains("\"flops_band\"") {
                        throw StudyFileError(path: path, line: i + 1, reason: "a record in the older format that measured networks in "
                                             + "FLOPs instead of multiply-adds; start the study afresh in another --out-dir")
                    }
                    throw StudyFileError(path: path, line: i + 1, reason: "not a study record (\(error)); fix or remove the line")
                }
                skipped += 1
            }
        }
        return (records, skipped)
    }

    /// Appends one record as one line with a single write, so a crash loses at most that line.
    public static func append(_ record: StudyRecord, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var line = try encoder.encode(record)
        line.append(UInt8(ascii: "\n"))
        let fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
        guard fd >= 0 else { throw StudyFileError(path: path, reason: "cannot be written (\(String(cString: strerror(errno))))") }
        defer { close(fd) }
        let written = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
        guard written == line.count else { throw StudyFileError(path: path, reason: "short write (disk full?)") }
    }

    /// Combines files, keeping the first record of each experiment.
    public static func merge(_ files: [[StudyRecord]]) -> [StudyRecord] {
        var seen = Set<StudyKey>(), out: [StudyRecord] = []
        for r in files.joined() where seen.insert(r.key).inserted { out.append(r) }
        return out
    }
}

/// `--shard i/n`: this machine trains the samples whose index ≡ i (mod n).
public struct Shard: Sendable, Equatable {
    public let index: Int, count: Int
    public init(index: Int, count: Int) { self.index = index; self.count = count }
    public static let all = Shard(index: 0, count: 1)

    /// Parses "1/4" (0 ≤ i < n).
    public init?(_ text: String) {
        let parts = text.split(separator: "/")
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]), n >= 1, (0..<n).contains(i) else { return nil }
        self.init(index: i, count: n)
    }

    public func contains(_ sampleIndex: Int) -> Bool { sampleIndex % count == index }
}

/// The empirical distribution function F(e) = (1/n) Σ 1[e_i ≤ e] as its step corners:
/// the sorted errors with cumulative fractions 1/n, 2/n, …, 1.
public func empiricalCDF(_ errors: [Double]) -> [(x: Double, y: Double)] {
    let sorted = errors.sorted()
    return sorted.enumerated().map { ($0.element, Double($0.offset + 1) / Double(sorted.count)) }
}

/// Statistics of a group of networks' errors, for tables and legends.
public struct ErrorStatistics: Sendable {
    public let n: Int, minError: Double, meanError: Double, medianError: Double
    /// Sample standard deviation (n − 1 in the denominator; 0 for a single network).
    public let standardDeviation: Double
    /// Standard error of the mean (sample standard deviation / √n).
    public var standardError: Double { standardDeviation / Double(Swift.max(n, 1)).squareRoot() }
    public init(_ errors: [Double]) {
        let sorted = errors.sorted()
        n = sorted.count
        minError = sorted.first ?? .nan
        meanError = sorted.isEmpty ? .nan : sorted.reduce(0, +) / Double(sorted.count)
        medianError = sorted.isEmpty ? .nan : (sorted[(sorted.count - 1) / 2] + sorted[sorted.count / 2]) / 2
        let mean = meanError
        standardDeviation = n > 1 ? (sorted.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(n - 1)).squareRoot() : 0
    }
}

/// Per-space statistics for the table and the legend.
public struct SpaceStatistics: Sendable {
    public let space: DesignSpace, n: Int, minError: Double, meanError: Double, medianError: Double
    /// Sample standard deviation (n − 1 in the denominator; 0 for a single network).
    public let standardDeviation: Double
    public init(space: DesignSpace, errors: [Double]) {
        let s = ErrorStatistics(errors)
        self.space = space; n = s.n; minError = s.minError; meanError = s.meanError; medianError = s.medianError
        standardDeviation = s.standardDeviation
    }
}

/// The error EDFs of several spaces in one plot, as pycls draws them: x = error, y = fraction
/// of networks with at most that error, one step line per space, legend "name n|min|mean".
public func designSpaceEDFPlot(_ groups: [(space: DesignSpace, errors: [Double])], title: String) -> Canvas {
    errorEDFPlot(groups.map { (name: $0.space.name, errors: $0.errors) }, title: title)
}

/// The error EDFs of named groups of networks in one plot (see `designSpaceEDFPlot`); with
/// `bands`, each EDF's pointwise 95% bootstrap band shaded behind it.
public func errorEDFPlot(_ groups: [(name: String, errors: [Double])], title: String, bands: Bool = false) -> Canvas {
    let colors = RGB.palette
    let all = groups.flatMap(\.errors)
    let grid: [Double] = {
        guard let lo = all.min(), let hi = all.max(), hi > lo else { return [] }
        return (0...120).map { lo + (hi - lo) * Double($0) / 120 }
    }()
    let series = groups.enumerated().compactMap { i, g -> LinePlot.Series? in
        guard !g.errors.isEmpty else { return nil }
        let s = ErrorStatistics(g.errors)
        var points = empiricalCDF(g.errors)
        points.insert((points[0].x, 0), at: 0)
        var series = LinePlot.Series(name: String(format: "%@ n=%d min %.3f mean %.3f", g.name, s.n, s.minError, s.meanError),
                                     points: points, color: colors[i % colors.count], steps: true)
        if bands && g.errors.count > 1 { series.band = edfBand(g.errors, grid: grid, seed: UInt64(i)) }
        return series
    }
    var plot = LinePlot(title: title, xLabel: "test error", yLabel: "cumulative fraction of networks", series: series)
    if let lo = all.min(), let hi = all.max() {
        let pad = Swift.max((hi - lo) * 0.05, 0.005)
        plot.xRange = (lo - pad, hi + pad)
    }
    plot.yRange = (0, 1)
    return plot.render(width: 760, height: 500)
}
