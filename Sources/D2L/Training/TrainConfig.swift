import Foundation

/// Everything that decides how a network is trained, as one value: what `train_ch6` takes
/// (epochs, batch size, learning rate, the `resize` of its data loader) plus the seed, how much
/// of Fashion-MNIST to use and an optional learning-rate schedule. A chapter's quick profile
/// and the book's settings are values of this type; flags and a checkpoint's record override
/// fields of it; the trainer and the optimiser read it. As JSON (metrics.json, a checkpoint's
/// `settings`): `epochs`, `batch_size`, `lr`, `resize`, `seed`, `lr_decay`, `lr_warmup`,
/// `train_limit`, `test_limit`.
public struct TrainConfig: Codable, Sendable, Equatable {
    public var epochs: Int
    public var batchSize: Int
    /// The learning rate of plain SGD (the peak rate when a schedule is set).
    public var learningRate: Float
    /// The side the 28×28 images are resized to.
    public var resize: Int
    /// Seed for weight initialisation, shuffling and dropout.
    public var seed: UInt64
    /// Train on the first `trainLimit` training images only (nil: all 60,000).
    public var trainLimit: Int?
    /// Evaluate on the first `testLimit` test images only (nil: all 10,000).
    public var testLimit: Int?
    /// The fraction of all steps over which the learning rate falls linearly to 0 at the end
    /// of the run; 0 keeps it constant, as the book does.
    public var lrDecay: Double
    /// The fraction of all steps over which the learning rate first rises linearly to its
    /// value (a warm-up); 0 starts at full rate, as the book does. Warm-up and decay
    /// together cover at most all steps.
    public var lrWarmup: Double
    /// Training stops as diverged when the loss stays above this many times a uniform guess's
    /// loss, ln(classes), for 10 batches in a row (see `DivergenceWatch`); 0 stops only on NaN or ∞.
    public var divergenceFactor: Double
    /// SGD's momentum μ and weight decay λ (see `SGD`); 0 and 0 are the book's plain SGD. The
    /// velocity is not saved in checkpoints, so a resumed run with momentum restarts it.
    public var momentum: Double = 0
    public var weightDecay: Double = 0
    /// A half-period cosine schedule over all steps, lr·(1 + cos(π·step/steps))/2, as the
    /// RegNet paper trains (instead of the linear warm-up and decay).
    public var cosine = false

    public init(epochs: Int, batchSize: Int, learningRate: Float, resize: Int, seed: UInt64 = 0,
                trainLimit: Int? = nil, testLimit: Int? = nil, lrDecay: Double = 0, lrWarmup: Double = 0,
                divergenceFactor: Double = 3) {
        self.epochs = epochs; self.batchSize = batchSize; self.learningRate = learningRate; self.resize = resize
        self.seed = seed; self.trainLimit = trainLimit; self.testLimit = testLimit
        self.lrDecay = lrDecay; self.lrWarmup = lrWarmup; self.divergenceFactor = divergenceFactor
    }

    /// Whether every field is in range: at least one epoch, image and batch; a positive finite
    /// learning rate; schedule fractions in [0, 1] that together cover at most all steps.
    public var isValid: Bool {
        epochs >= 1 && batchSize >= 1 && resize >= 1 && learningRate.isFinite && learningRate > 0
            && (0...1).contains(lrDecay) && (0...1).contains(lrWarmup) && lrDecay + lrWarmup <= 1
            && (trainLimit ?? 1) >= 1 && (testLimit ?? 1) >= 1 && divergenceFactor >= 0
            && (0..<1).contains(momentum) && weightDecay >= 0 && weightDecay.isFinite
    }

    /// The optimiser these settings train with, and its name in a sentence.
    public func optimizer(for parameters: [Tensor]) -> SGD {
        SGD(parameters, learningRate: learningRate, momentum: Float(momentum), weightDecay: Float(weightDecay))
    }
    public var optimizerDescription: String {
        momentum == 0 && weightDecay == 0 ? "plain SGD" : "SGD with momentum \(momentum) and weight decay \(weightDecay)"
    }

    /// The learning rate of step `step` (0-based) of `totalSteps`: lr·(step + 1)/(warm-up
    /// steps) during the first `lrWarmup` of the steps, then `learningRate` until the last
    /// `lrDecay` of the steps, then lr·(totalSteps − step)/(decay steps), reaching
    /// lr/(decay steps) at the last step. Depends on the step index only, so a resumed run
    /// continues the same schedule.
    public func learningRate(step: Int, of totalSteps: Int) -> Float {
        if cosine { return learningRate * Float(0.5 * (1 + cos(Double.pi * Double(step) / Double(Swift.max(totalSteps, 1))))) }
        let warmupSteps = Int((lrWarmup * Double(totalSteps)).rounded())
        let decaySteps = Int((lrDecay * Double(totalSteps)).rounded())
        let left = totalSteps - step
        if decaySteps > 0 && left < decaySteps { return learningRate * Float(left) / Float(decaySteps) }
        if step < warmupSteps { return learningRate * Float(step + 1) / Float(warmupSteps) }
        return learningRate
    }

    /// How these settings differ from `other` (the book's), one phrase per difference; the
    /// seed is not a difference.
    public func differences(from other: TrainConfig) -> [String] {
        var d: [String] = []
        if epochs != other.epochs { d.append("\(epochs) epoch\(epochs == 1 ? "" : "s") instead of \(other.epochs)") }
        if batchSize != other.batchSize { d.append("batch size \(batchSize) instead of \(other.batchSize)") }
        if learningRate != other.learningRate { d.append("learning rate \(learningRate) instead of \(other.learningRate)") }
        if lrWarmup != other.lrWarmup {
            d.append(lrWarmup == 0 ? "the full learning rate from the first step"
                     : "the learning rate rising linearly from 0 over the first \(Int((lrWarmup * 100).rounded()))% of the steps (a warm-up)")
        }
        if lrDecay != other.lrDecay {
            d.append(lrDecay == 0 ? "a constant learning rate"
                     : "the learning rate falling linearly to 0 over the last \(Int((lrDecay * 100).rounded()))% of the steps instead of staying constant")
        }
        if resize != other.resize { d.append("\(resize)×\(resize) images instead of \(other.resize)×\(other.resize)") }
        if let n = trainLimit, n != other.trainLimit { d.append("the first \(groupDigits(n)) of 60,000 training images") }
        if let n = testLimit, n != other.testLimit { d.append("the first \(groupDigits(n)) of 10,000 test images") }
        if momentum != other.momentum || weightDecay != other.weightDecay { d.append(optimizerDescription + " instead of " + other.optimizerDescription) }
        if cosine != other.cosine { d.append(cosine ? "a cosine learning-rate schedule" : "no cosine schedule") }
        if divergenceFactor != other.divergenceFactor {
            d.append(divergenceFactor == 0 ? "no stop for a runaway loss" : "a stop when the loss stays above \(divergenceFactor) × ln(classes)")
        }
        return d
    }

    enum CodingKeys: String, CodingKey {
        case epochs, resize, seed
        case batchSize = "batch_size", learningRate = "lr", trainLimit = "train_limit", testLimit = "test_limit"
        case lrDecay = "lr_decay", lrWarmup = "lr_warmup", divergenceFactor = "divergence_factor"
        case momentum, weightDecay = "weight_decay", cosine
    }

    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        // Numbers may come back as 256.0 from JSON written by other tools.
        func int(_ key: CodingKeys) throws -> Int {
            let v = try c.decode(Double.self, forKey: key)
            guard v.isFinite, v == v.rounded(), abs(v) < 1e15 else {
                throw DecodingError.dataCorruptedError(forKey: key, in: c, debugDescription: "\(v) is not a whole number")
            }
            return Int(v)
        }
        func optionalInt(_ key: CodingKeys) throws -> Int? {
            try !c.contains(key) || c.decodeNil(forKey: key) ? nil : int(key)
        }
        self.init(epochs: try int(.epochs), batchSize: try int(.batchSize),
                  learningRate: Float(try c.decode(Double.self, forKey: .learningRate)), resize: try int(.resize),
                  seed: UInt64(exactly: try c.decode(Double.self, forKey: .seed)) ?? 0,
                  trainLimit: try optionalInt(.trainLimit), testLimit: try optionalInt(.testLimit),
                  lrDecay: try c.decodeIfPresent(Double.self, forKey: .lrDecay) ?? 0,
                  lrWarmup: try c.decodeIfPresent(Double.self, forKey: .lrWarmup) ?? 0,
                  divergenceFactor: try c.decodeIfPresent(Double.self, forKey: .divergenceFactor) ?? 3)
        momentum = try c.decodeIfPresent(Double.self, forKey: .momentum) ?? 0
        weightDecay = try c.decodeIfPresent(Double.self, forKey: .weightDecay) ?? 0
        cosine = try c.decodeIfPresent(Bool.self, forKey: .cosine) ?? false
    }

    public func encode(to encoder: Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(Double(epochs), forKey: .epochs)
        try c.encode(Double(batchSize), forKey: .batchSize)
        try c.encode(Double(learningRate), forKey: .learningRate)
        try c.encode(Double(resize), forKey: .resize)
        try c.encode(Double(seed), forKey: .seed)
        try c.encode(lrDecay, forKey: .lrDecay)
        try c.encode(lrWarmup, forKey: .lrWarmup)
        try c.encode(divergenceFactor, forKey: .divergenceFactor)
        // Written only when used, so the book's settings keep their record.
        if momentum != 0 { try c.encode(momentum, forKey: .momentum) }
        if weightDecay != 0 { try c.encode(weightDecay, forKey: .weightDecay) }
        if cosine { try c.encode(cosine, forKey: .cosine) }
        // Absent limits are written as null, so every record has the same keys.
        if let trainLimit { try c.encode(Double(trainLimit), forKey: .trainLimit) } else { try c.encodeNil(forKey: .trainLimit) }
        if let testLimit { try c.encode(Double(testLimit), forKey: .testLimit) } else { try c.encodeNil(forKey: .testLimit) }
    }
}
