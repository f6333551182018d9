import Foundation

/// The running training loss and accuracy part-way through an epoch, as `train_ch6` adds them
/// to its plot: after every ⌊batches/5⌋ batches and after the last, at
/// `epoch` = e − 1 + (batches done)/(batches per epoch).
public struct TrainPoint: Codable, Sendable, Equatable {
    public let epoch: Double
    /// Mean loss and accuracy over the epoch's batches so far.
    public let loss: Double
    public let trainAcc: Double

    enum CodingKeys: String, CodingKey { case epoch, loss, trainAcc = "train_acc" }
}

/// What one epoch measured, as `train_ch6` reports it.
public struct EpochMetrics: Codable, Sendable, Equatable {
    public let epoch: Int
    /// Mean training loss over the epoch's batches (weighted by batch size).
    public let loss: Double
    /// Accuracy on the epoch's training batches, computed in training mode during the epoch.
    public let trainAcc: Double
    /// Accuracy on the test set in evaluation mode after the epoch.
    public let testAcc: Double
    /// Wall time of the epoch's training steps (not data loading or evaluation).
    public let trainSeconds: Double
    /// The running loss and accuracy about five times during the epoch (the last one is
    /// `loss`, `trainAcc`); empty in records that predate them.
    public var trainPoints: [TrainPoint] = []

    enum CodingKeys: String, CodingKey {
        case epoch, loss, trainAcc = "train_acc", testAcc = "test_acc", trainSeconds = "train_seconds"
        case trainPoints = "train_points"
    }

    public init(epoch: Int, loss: Double, trainAcc: Double, testAcc: Double, trainSeconds: Double, trainPoints: [TrainPoint] = []) {
        self.epoch = epoch; self.loss = loss; self.trainAcc = trainAcc; self.testAcc = testAcc
        self.trainSeconds = trainSeconds; self.trainPoints = trainPoints
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(epoch: try c.decode(Int.self, forKey: .epoch), loss: try c.decode(Double.self, forKey: .loss),
                  trainAcc: try c.decode(Double.self, forKey: .trainAcc), testAcc: try c.decode(Double.self, forKey: .testAcc),
                  trainSeconds: try c.decode(Double.self, forKey: .trainSeconds),
                  trainPoints: try c.decodeIfPresent([TrainPoint].self, forKey: .trainPoints) ?? [])
    }
}

/// Everything `metrics.json` records about a run.
public struct RunMetrics: Codable, Sendable {
    public var chapter: String
    public var settings: [String: JSONValue]
    public var epochs: [EpochMetrics] = []
    public var examplesPerSec: Double?
    public var wallSeconds: Double?
    public var status: String = "running"
    public var results: [String: JSONValue] = [:]

    public init(chapter: String, settings: [String: JSONValue]) {
        self.chapter = chapter
        self.settings = settings
    }

    enum CodingKeys: String, CodingKey {
        case chapter, settings, epochs, status, results
        case examplesPerSec = "examples_per_sec", wallSeconds = "wall_seconds"
    }

    /// Writes pretty, key-sorted JSON atomically (temporary file + rename).
    public func write(to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try encoder.encode(self).write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}
