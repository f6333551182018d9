import ArgumentParser
import ChapterKit
import D2L
import Experiments
import Models

/// Which parts of the chapter to run.
enum ChapterPart: String, ExpressibleByArgument, CaseIterable {
    case all, network, study
}

/// How each sampled network is trained.
enum StudyRecipe: String, ExpressibleByArgument, CaseIterable {
    /// The book's plain SGD at a constant learning rate 0.1.
    case sgd
    /// The paper's: SGD with momentum 0.9 and weight decay 5e-5, a half-period cosine schedule,
    /// lr 0.05 scaled from its batch of 128 to the study's batch (0.025 at 64).
    case paper

    func config(epochs: Int, batchSize: Int, side: Int, seed: UInt64) -> TrainConfig {
        switch self {
        case .sgd:
            return TrainConfig(epochs: epochs, batchSize: batchSize, learningRate: 0.1, resize: side, seed: seed)
        case .paper:
            var c = TrainConfig(epochs: epochs, batchSize: batchSize, learningRate: 0.05 * Float(batchSize) / 128, resize: side, seed: seed)
            c.momentum = 0.9
            c.weightDecay = 5e-5
            c.cosine = true
            return c
        }
    }

    /// The recipe's name in a study record (nil for plain SGD: a record without one is plain SGD).
    var recordName: String? { self == .sgd ? nil : rawValue }
}

/// The flags of the design-space study (part 2).
struct StudyOptions: ParsableArguments {
    @Option(help: "Which part to run: all, network (RegNetX-32 only) or study (design spaces only).")
    var part: ChapterPart = .all

    @Option(help: "Networks sampled per design space.")
    var samples: Int = 8

    @Option(help: "Design spaces to study, from A, B, C, D, E (AnyNetX_A…E) and X (RegNetX).")
    var spaces: String = "A,B,C,D,E,X"

    @Option(help: "Training steps per sampled network (the fixed short budget).")
    var budget: Int = DesignSpaceStudyChapter.defaultBudget

    @Option(help: "Keep only networks whose multiply-adds per image fall in lo:hi, in millions (the paper's MF; default 2.5:5 at 28×28, scaled with the image area for --side).")
    var macsBand: String?

    @Option(help: "Side of the images the sampled networks train on, in pixels: Fashion-MNIST's own 28, or resized, 16 to 112.")
    var side: Int = DesignSpaceStudyChapter.defaultSide

    @Option(help: "Train only samples whose index ≡ i (mod n), written i/n, to split a study over n machines.")
    var shard: String = "0/1"

    @Option(help: "How to train each network: paper (momentum 0.9, weight decay 5e-5, cosine schedule; its ranking of networks is the more stable) or sgd (plain SGD at lr 0.1, as the book trains).")
    var recipe: StudyRecipe = .paper

    @Option(help: "After the study, train this many of its networks again with another seed and report how stable their ranking is (0: skip).")
    var rankCheck: Int = 12

    @Option(parsing: .upToNextOption, help: "Combine these design-space.jsonl files (shards) into one, then plot; trains nothing.")
    var merge: [String] = []

    /// The parsed values (valid after `validate()`).
    var spaceList: [DesignSpace] { DesignSpace.parseList(spaces) ?? [] }
    var shardValue: Shard { Shard(shard) ?? .all }
    var band: ClosedRange<Int> { Self.parseBand(bandText)! }
    /// `--macs-band` as given, or the default band for the images' side: the same networks cost
    /// multiply-adds in proportion to the image area.
    var bandText: String { macsBand ?? Self.defaultBand(side: side) }

    /// "2.5:5" at 28×28, "10:20" at 56×56.
    static func defaultBand(side: Int) -> String {
        let scale = Double(side * side) / Double(DesignSpaceStudyChapter.defaultSide * DesignSpaceStudyChapter.defaultSide)
        let bounds = DesignSpaceStudyChapter.defaultBand.split(separator: ":").map { Double($0)! * scale }
        return bounds.map { String(format: "%g", ($0 * 100).rounded() / 100) }.joined(separator: ":")
    }

    /// "2.5:5" (millions of multiply-adds) → 2,500,000…5,000,000.
    static func parseBand(_ text: String) -> ClosedRange<Int>? {
        let parts = text.split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 2, let lo = Double(parts[0]), let hi = Double(parts[1]),
              lo.isFinite, hi.isFinite, lo >= 0, hi > lo, hi < 1e6 else { return nil }
        return Int(lo * 1e6)...Int(hi * 1e6)
    }

    func validate() throws {
        guard samples > 0, samples <= 100_000 else { throw ValidationError("--samples must be between 1 and 100000, got \(samples)") }
        guard (0...10_000).contains(rankCheck) else { throw ValidationError("--rank-check must be between 0 and 10000, got \(rankCheck)") }
        guard budget > 0, budget <= 1_000_000 else { throw ValidationError("--budget must be a positive number of steps, got \(budget)") }
        guard DesignSpace.parseList(spaces) != nil else {
            throw ValidationError("--spaces '\(spaces)': expected a comma-separated list of A, B, C, D, E, X")
        }
        guard (16...112).contains(side) else { throw ValidationError("--side must be between 16 and 112 pixels, got \(side)") }
        guard Self.parseBand(bandText) != nil else {
            throw ValidationError("--macs-band '\(bandText)': expected lo:hi in millions of multiply-adds with 0 ≤ lo < hi, e.g. \(DesignSpaceStudyChapter.defaultBand)")
        }
        guard Shard(shard) != nil else { throw ValidationError("--shard '\(shard)': expected i/n with 0 ≤ i < n, e.g. 0/4") }
    }
}
