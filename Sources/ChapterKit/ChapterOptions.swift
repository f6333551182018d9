import ArgumentParser
import D2L
import Foundation

/// The flags every chapter shares (`@OptionGroup var options: ChapterOptions`).
/// Values left unset come from the chapter's quick profile, or with `--full` from the book.
public struct ChapterOptions: ParsableArguments {
    @Flag(help: "Use the book's hyper-parameters exactly (slow on a CPU).")
    public var full = false

    @Option(help: "Number of training epochs.")
    public var epochs: Int?

    @Option(help: "Mini-batch size.")
    public var batchSize: Int?

    @Option(help: "Learning rate of plain SGD.")
    public var lr: Float?

    @Option(help: "Let the learning rate fall linearly to 0 over this last fraction of the steps (0: constant, as the book).")
    public var lrDecay: Double?

    @Option(help: "Let the learning rate rise linearly from 0 over this first fraction of the steps (0: full rate from the start, as the book).")
    public var lrWarmup: Double?

    @Flag(help: "Train on even when the loss stays above 3 × ln 10 (three times a uniform guess's) for 10 batches in a row, which otherwise stops the run as diverged (NaN or ∞ always stops it).")
    public var noDivergenceCheck = false

    @Option(help: "Resize the 28×28 images to this many pixels per side (the book's `resize`).")
    public var resize: Int?

    @Option(help: "Train on only the first N training images.")
    public var trainLimit: Int?

    @Option(help: "Evaluate on only the first N test images.")
    public var testLimit: Int?

    @Option(help: "Seed for weight initialisation, shuffling and dropout.")
    public var seed: UInt64 = 0

    @Option(help: "Worker threads for the kernels (default: all cores).")
    public var threads: Int?

    @Option(help: "Folder with the four Fashion-MNIST files (default: search $FASHION_MNIST_DIR, data/fashion-mnist, \(FashionMNIST.systemDirectory)).")
    public var dataDir: String?

    @Option(help: "Where pictures and metrics.json go (default: out/<chapter>).")
    public var outDir: String?

    @Flag(help: "Print the narration's shape printouts and summary, then exit (needs no data).")
    public var summaryOnly = false

    @Option(help: "Where to save the weights (safetensors, PyTorch state_dict names; default: model.safetensors in the out dir). Saved after every epoch and when stopped by Ctrl-C.")
    public var save: String?

    @Option(help: "Start from the weights in this safetensors file (ours or a PyTorch state_dict of the book's model).")
    public var load: String?

    @Flag(help: "With --load: evaluate the loaded weights on the test set and draw the pictures; no training.")
    public var evalOnly = false

    @Flag(name: .customLong("exercises"), help: "List the book's exercises for this section that the program answers, then exit.")
    public var listExercises = false

    @Option(help: "Run exercise N of the section instead of the section (--exercises lists them); --full runs it at the book's scale where that differs.")
    public var exercise: Int?

    @Option(help: "Continue the run saved in this checkpoint where it stopped; its settings come from the file (--epochs may extend it).")
    public var resume: String?

    public init() {}

    public mutating func validate() throws {
        func positive(_ v: Int?, _ name: String) throws {
            if let v, v <= 0 { throw ValidationError("--\(name) must be a positive whole number, got \(v)") }
        }
        try positive(epochs, "epochs")
        try positive(batchSize, "batch-size")
        try positive(resize, "resize")
        try positive(trainLimit, "train-limit")
        try positive(testLimit, "test-limit")
        try positive(threads, "threads")
        if let lr, !(lr.isFinite && lr > 0) {
            throw ValidationError("--lr must be a positive finite number, got \(lr)")
        }
        if let lrDecay, !(lrDecay >= 0 && lrDecay <= 1) {
            throw ValidationError("--lr-decay must be a fraction of the steps between 0 and 1, got \(lrDecay)")
        }
        if let lrWarmup, !(lrWarmup >= 0 && lrWarmup <= 1) {
            throw ValidationError("--lr-warmup must be a fraction of the steps between 0 and 1, got \(lrWarmup)")
        }
        if let resize, resize > 512 {
            throw ValidationError("--resize \(resize) is larger than any network here needs (at most 512)")
        }
        if evalOnly && load == nil {
            throw ValidationError("--eval-only needs the weights to evaluate: add --load PATH")
        }
        if exercise != nil && (load != nil || resume != nil || evalOnly || summaryOnly) {
            throw ValidationError("--exercise runs an exercise from scratch; drop --load, --resume, --eval-only and --summary-only")
        }
        if load != nil && resume != nil {
            throw ValidationError("--load and --resume exclude each other: --resume PATH already loads the weights (and the run's state)")
        }
        if resume != nil {
            let conflicting = [("--full", full), ("--batch-size", batchSize != nil), ("--lr", lr != nil), ("--lr-decay", lrDecay != nil), ("--lr-warmup", lrWarmup != nil), ("--resize", resize != nil),
                               ("--train-limit", trainLimit != nil), ("--test-limit", testLimit != nil), ("--eval-only", evalOnly),
                               ("--no-divergence-check", noDivergenceCheck)]
                .filter(\.1).map(\.0)
            if !conflicting.isEmpty {
                throw ValidationError("--resume takes the run's settings from the checkpoint; drop \(conflicting.joined(separator: ", ")) (only --epochs may change, to train longer)")
            }
        }
        for (flag, value) in [("--save", save), ("--load", load), ("--resume", resume)] where value?.isEmpty == true {
            throw ValidationError("\(flag) needs a file path")
        }
        if let threads, threads > 256 { throw ValidationError("--threads \(threads) is more than this program can use") }
    }
}

extension ChapterOptions {
    /// What the flags ask this run to do.
    var mode: RunMode {
        if exercise != nil { return .exercise }
        if summaryOnly { return .summaryOnly }
        if resume != nil { return .resume }
        return evalOnly ? .evalOnly : .train
    }

    /// The flags given, applied over `profile` (the chapter's quick default, or the book's with --full).
    func overriding(_ profile: TrainConfig) -> TrainConfig {
        var p = profile
        if let epochs { p.epochs = epochs }
        if let batchSize { p.batchSize = batchSize }
        if let lr { p.learningRate = lr }
        if let lrDecay { p.lrDecay = lrDecay }
        if let lrWarmup { p.lrWarmup = lrWarmup }
        if let resize { p.resize = resize }
        if let trainLimit { p.trainLimit = trainLimit }
        if let testLimit { p.testLimit = testLimit }
        if noDivergenceCheck { p.divergenceFactor = 0 }
        p.seed = seed
        return p
    }
}
