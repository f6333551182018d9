import Foundation

/// Where a training run stands, saved in a checkpoint's metadata so `--resume` continues it
/// exactly: the finished epochs' history, how far the current epoch got (and its running sums),
/// and the two random streams (the shuffler as it was when the current epoch drew its order,
/// and the generator dropout draws from). Plain SGD has no optimiser state to add.
public struct TrainingProgress: Codable, Sendable, Equatable {
    /// The finished epochs.
    public var history: [EpochMetrics] = []
    /// The epoch in progress, 1-based (history.count + 1).
    public var epoch = 1
    /// Batches of `epoch` already trained on.
    public var batchesDone = 0
    /// The running sums of `epoch` so far: loss·n, correct predictions, n, seconds of steps.
    public var lossSum = 0.0, correct = 0, seen = 0, stepSeconds = 0.0
    /// The plot points of `epoch` so far (nil when none, as in checkpoints that predate them).
    public var points: [TrainPoint]?
    /// Images and seconds of training over all finished epochs (for examples/sec).
    public var examples = 0, trainSeconds = 0.0
    /// The shuffler's state before `epoch` drew its order, and the process-wide generator's now, as hex.
    public var shuffleState: [String] = []
    public var randomState: [String] = []
    /// The random streams of layers that have one (Dropout), by module path, as hex.
    public var layerRandomStates: [String: [String]] = [:]

    public init() {}

    init(history: [EpochMetrics], epoch: Int, totals: EpochTotals, examples: Int, trainSeconds: Double, shuffleState: [String]) {
        self.history = history; self.epoch = epoch
        self.totals = totals
        self.examples = examples; self.trainSeconds = trainSeconds; self.shuffleState = shuffleState
    }

    /// The running sums of `epoch` so far.
    var totals: EpochTotals {
        get {
            var t = EpochTotals()
            t.batchesDone = batchesDone; t.lossSum = lossSum; t.correct = correct; t.seen = seen
            t.stepSeconds = stepSeconds; t.points = points ?? []
            return t
        }
        set {
            batchesDone = newValue.batchesDone; lossSum = newValue.lossSum; correct = newValue.correct
            seen = newValue.seen; stepSeconds = newValue.stepSeconds
            points = newValue.points.isEmpty ? nil : newValue.points
        }
    }

    enum CodingKeys: String, CodingKey {
        case history, epoch, correct, seen, examples, points
        case batchesDone = "batches_done", lossSum = "loss_sum", stepSeconds = "step_seconds"
        case trainSeconds = "train_seconds", shuffleState = "shuffle_state", randomState = "random_state"
        case layerRandomStates = "layer_random_states"
    }

    static func hex(_ g: SeededGenerator) -> [String] { g.state.map { String($0, radix: 16) } }
    static func generator(_ words: [String]) -> SeededGenerator? {
        let values = words.compactMap { UInt64($0, radix: 16) }
        return values.count == words.count ? SeededGenerator(state: values) : nil
    }

    /// The progress as one line of JSON (a safetensors metadata value must be a string).
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return String(decoding: (try? encoder.encode(self)) ?? Data(), as: UTF8.self)
    }

    /// Parses and checks `json`; nil if it is not a consistent progress record.
    public init?(json: String) {
        guard let p = try? JSONDecoder().decode(TrainingProgress.self, from: Data(json.utf8)),
              p.epoch == p.history.count + 1, p.batchesDone >= 0, p.seen >= 0, p.correct >= 0, p.correct <= p.seen,
              p.history.enumerated().allSatisfy({ $0.element.epoch == $0.offset + 1 }),
              Self.generator(p.shuffleState) != nil, Self.generator(p.randomState) != nil,
              p.layerRandomStates.values.allSatisfy({ Self.generator($0) != nil }) else { return nil }
        self = p
    }
}


