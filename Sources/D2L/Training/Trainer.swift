import Foundation

/// The book's training loop (`d2l.train_ch6`) with its exact result lines.
///
/// Per epoch: shuffle, then for every mini-batch forward → mean cross-entropy → backward →
/// SGD step, accumulating loss·n, correct predictions and n; then test accuracy in eval mode.
/// `examples/sec` counts the training steps only (data preparation and evaluation excluded),
/// as the book's timer does.
public struct TrainConfig: Sendable {
    public var epochs: Int
    public var batchSize: Int
    public var learningRate: Float
    public var resize: Int
    public var seed: UInt64
    /// The fraction of all steps over which the learning rate falls linearly to 0 at the end
    /// of the run; 0 keeps it constant, as the book does.
    public var lrDecay: Double
    /// The fraction of all steps over which the learning rate first rises linearly to its
    /// value (a warm-up); 0 starts at full rate, as the book does. Warm-up and decay
    /// together cover at most all steps.
    public var lrWarmup: Double
    public init(epochs: Int, batchSize: Int, learningRate: Float, resize: Int, seed: UInt64, lrDecay: Double = 0,
                lrWarmup: Double = 0) {
        self.epochs = epochs; self.batchSize = batchSize; self.learningRate = learningRate
        self.resize = resize; self.seed = seed; self.lrDecay = lrDecay; self.lrWarmup = lrWarmup
    }

    /// The learning rate of step `step` (0-based) of `totalSteps`: lr·(step + 1)/(warm-up
    /// steps) during the first `lrWarmup` of the steps, then `learningRate` until the last
    /// `lrDecay` of the steps, then lr·(totalSteps − step)/(decay steps), reaching
    /// lr/(decay steps) at the last step. Depends on the step index only, so a resumed run
    /// continues the same schedule.
    public func learningRate(step: Int, of totalSteps: Int) -> Float {
        let warmupSteps = Int((lrWarmup * Double(totalSteps)).rounded())
        let decaySteps = Int((lrDecay * Double(totalSteps)).rounded())
        let left = totalSteps - step
        if decaySteps > 0 && left < decaySteps { return learningRate * Float(left) / Float(decaySteps) }
        if step < warmupSteps { return learningRate * Float(step + 1) / Float(warmupSteps) }
        return learningRate
    }
}

/// Training stopped because the loss stopped being a finite number.
public struct DivergenceError: Error, CustomStringConvertible {
    public let epoch: Int, batch: Int, learningRate: Float, loss: Float
    public var description: String {
        "training diverged: loss became \(loss) in epoch \(epoch), batch \(batch) at learning rate \(learningRate). "
        + "Try a smaller --lr (e.g. \(learningRate / 10)); metrics up to the last finished epoch were kept."
    }
}

public final class Trainer {
    public let net: Module
    public let data: FashionMNIST
    public let config: TrainConfig
    public let label: String
    /// Print nothing (no progress bar, estimate or epoch lines): for studies that train many networks.
    public var quiet = false
    public private(set) var history: [EpochMetrics] = []
    /// Images trained on and seconds spent in training steps, over all epochs.
    public private(set) var examples = 0
    public private(set) var trainSeconds = 0.0

    /// - Parameter label: printed in front of the per-epoch lines when a chapter trains two nets.
    public init(net: Module, data: FashionMNIST, config: TrainConfig, label: String = "") {
        self.net = net; self.data = data; self.config = config; self.label = label
    }

    public var examplesPerSec: Double { trainSeconds > 0 ? Double(examples) / trainSeconds : 0 }

    /// Where the run stands after the last completed batch, without the random streams.
    private var position = TrainingProgress()

    /// Where the run stands after the last completed batch (what a checkpoint saves), with the
    /// random streams as they are now: nothing draws from them between batches.
    public var progress: TrainingProgress {
        var p = position
        p.randomState = TrainingProgress.hex(Random.generator)
        for (path, module) in net.namedModules {
            if let stream = module.randomStream { p.layerRandomStates[path] = TrainingProgress.hex(stream) }
        }
        return p
    }

    /// Creates the lazy layers' parameters by running one training image through the network
    /// (in evaluation mode, without gradients). Idempotent.
    public func materialise() throws {
        let resize = BilinearResize(from: data.train.height, to: config.resize)
        let probe = data.train.batch(data.train.batches(size: 1)[0], resize: resize).images
        let wasTraining = net.isTraining
        net.eval()
        defer { net.train(wasTraining) }
        _ = try GradMode.withoutGrad { try net(probe) }
    }

    /// Trains for `config.epochs` epochs, printing a progress bar and one line per epoch,
    /// and calling `onEpoch` after each (to write metrics, curves and a checkpoint as it goes).
    /// With `resumeFrom`, continues a saved run where it stopped: same history, same shuffled
    /// order for the rest of the interrupted epoch, same random stream for dropout.
    /// Throws `DivergenceError` at the first non-finite loss, and `InterruptedError` after the
    /// batch during which Ctrl-C or SIGTERM arrived (see `Interruption`); `progress` then
    /// describes the state after that batch.
    public func fit(resumeFrom: TrainingProgress? = nil, onEpoch: (EpochMetrics) throws -> Void = { _ in }) throws {
        let resize = BilinearResize(from: data.train.height, to: config.resize)
        var shuffler = SeededGenerator(seed: config.seed &+ 0x5EED)
        try materialise()
        if let resumeFrom {
            position = resumeFrom
            history = resumeFrom.history
            examples = resumeFrom.examples
            trainSeconds = resumeFrom.trainSeconds
            shuffler = TrainingProgress.generator(resumeFrom.shuffleState) ?? shuffler
            Random.generator = TrainingProgress.generator(resumeFrom.randomState) ?? Random.generator
            for (path, module) in net.namedModules {
                if let stream = resumeFrom.layerRandomStates[path].flatMap(TrainingProgress.generator) {
                    module.restoreRandomStream(stream)
                }
            }
        }
        let sgd = SGD(net.parameters, learningRate: config.learningRate)
        let batchesPerEpoch = (data.train.count + config.batchSize - 1) / config.batchSize
        let totalSteps = config.epochs * batchesPerEpoch
        var bar = ProgressBar(interactive: ProgressBar.stdoutIsTerminal && !quiet)
        bar.label = label
        var stepsThisProcess = 0, measuredImages = 0, measuredSeconds = 0.0
        let imagesBeforeThisProcess = (position.epoch - 1) * data.train.count + position.seen
        for epoch in position.epoch...Swift.max(position.epoch, config.epochs) where epoch <= config.epochs {
            net.train()
            let shuffleState = TrainingProgress.hex(shuffler)
            let batches = data.train.shuffledBatches(size: config.batchSize, using: &shuffler)
            let resuming = epoch == position.epoch && position.batchesDone > 0
            var lossSum = resuming ? position.lossSum : 0, correct = resuming ? position.correct : 0
            var seen = resuming ? position.seen : 0, stepSeconds = resuming ? position.stepSeconds : 0
            // The plot gets the running loss and accuracy every ⌊batches/5⌋ batches and at the
            // epoch's end, as in train_ch6.
            var points = resuming ? position.points ?? [] : []
            let pointEvery = Swift.max(1, batches.count / 5)
            for (b, indices) in batches.enumerated() where !resuming || b >= position.batchesDone {
                let (x, y) = data.train.batch(indices, resize: resize)
                sgd.learningRate = config.learningRate(step: (epoch - 1) * batchesPerEpoch + b, of: totalSteps)
                let start = ContinuousClock.now
                // Cleared before the forward pass, as the book's loop does, so that the last
                // step's gradients are freed before this step's activations are allocated.
                sgd.zeroGrad()
                let logits = try net(x)
                let loss = crossEntropy(logits, labels: y)
                guard loss.item.isFinite else {
                    bar.clear()
                    throw DivergenceError(epoch: epoch, batch: b + 1, learningRate: sgd.learningRate, loss: loss.item)
                }
                sgd.backwardAndStep(loss)
                lossSum += Double(loss.item) * Double(y.count)
                correct += correctCount(logits, labels: y)
                seen += y.count
                let seconds = (ContinuousClock.now - start).seconds
                stepSeconds += seconds
                stepsThisProcess += 1
                if (b + 1) % pointEvery == 0 || b + 1 == batches.count {
                    points.append(TrainPoint(epoch: Double(epoch - 1) + Double(b + 1) / Double(batches.count),
                                             loss: lossSum / Double(seen), trainAcc: Double(correct) / Double(seen)))
                }
                // Skip this process's first batch (workspaces are allocated there), measure the next three.
                if stepsThisProcess > 1 { measuredImages += y.count; measuredSeconds += seconds }
                if !quiet && stepsThisProcess == Self.estimateAfter + 1 && b + 1 < batches.count {
                    bar.clear()
                    print(estimateLine(imagesPerSecond: Double(measuredImages) / measuredSeconds, batchCount: Self.estimateAfter,
                                       alreadyTrained: imagesBeforeThisProcess))
                }
                position = TrainingProgress(history: history, epoch: epoch, batchesDone: b + 1, lossSum: lossSum,
                                            correct: correct, seen: seen, stepSeconds: stepSeconds, points: points, examples: examples,
                                            trainSeconds: trainSeconds, shuffleState: shuffleState, randomState: [],
                                            layerRandomStates: [:])
                if Interruption.signal != 0 {
                    bar.clear()
                    throw InterruptedError(signal: Interruption.signal, epoch: epoch, batch: b + 1)
                }
                bar.update(epoch: epoch, epochs: config.epochs, batch: b + 1, batches: batches.count,
                           loss: lossSum / Double(seen), acc: Double(correct) / Double(seen),
                           imagesPerSec: Double(seen) / stepSeconds, secondsPerBatch: stepSeconds / Double(b + 1))
            }
            bar.clear()
            examples += seen
            trainSeconds += stepSeconds
            sgd.zeroGrad()   // the next step would clear them anyway; evaluation need not hold them
            let testAcc = try evaluateAccuracy(net, on: data.test, batchSize: Swift.max(config.batchSize, 256), resize: resize)
            let m = EpochMetrics(epoch: epoch, loss: lossSum / Double(seen), trainAcc: Double(correct) / Double(seen),
                                 testAcc: testAcc, trainSeconds: stepSeconds, trainPoints: points)
            history.append(m)
            position = TrainingProgress(history: history, epoch: epoch + 1, examples: examples, trainSeconds: trainSeconds,
                                        shuffleState: TrainingProgress.hex(shuffler), randomState: [], layerRandomStates: [:])
            if !quiet { print(String(format: "%@epoch %d/%d: loss %.3f, train acc %.3f, test acc %.3f (%.1f s, %@ img/s)",
                         label.isEmpty ? "" : label + " ", epoch, config.epochs, m.loss, m.trainAcc, m.testAcc,
                         stepSeconds, groupDigits(Int(Double(seen) / stepSeconds)))) }
            fflush(nil)
            try onEpoch(m)
        }
    }

    /// The batch after which the run's duration is estimated (batches 2…4 are measured).
    static let estimateAfter = 3

    /// `Measured 146 img/s over batches 2–4: 1 epoch of 36,000 images needs about 4 min 6 s of training, plus test evaluation.`
    /// A resumed run (`alreadyTrained` images done before this process) estimates what is left.
    func estimateLine(imagesPerSecond rate: Double, batchCount: Int, alreadyTrained: Int = 0) -> String {
        let images = config.epochs * data.train.count - alreadyTrained
        let epochs = "\(config.epochs) epoch\(config.epochs == 1 ? "" : "s") of \(groupDigits(data.train.count)) images"
        let what = alreadyTrained > 0 ? "the remaining \(groupDigits(images)) images of \(epochs) need" : "\(epochs) need\(config.epochs == 1 ? "s" : "")"
        return "Measured \(groupDigits(Int(rate))) img/s over batches 2–\(batchCount + 1): \(what) "
            + "about \(spokenDuration(Double(images) / rate)) of training, plus test evaluation."
    }

    /// The book's two result lines, e.g. `loss 0.273, train acc 0.899, test acc 0.807` and
    /// `32293.9 examples/sec on cpu`.
    public var resultLines: String {
        guard let last = history.last else { return "no epoch finished" }
        return String(format: "loss %.3f, train acc %.3f, test acc %.3f\n%.1f examples/sec on cpu",
                      last.loss, last.trainAcc, last.testAcc, examplesPerSec)
    }
}

/// Accuracy of `net` on a whole split, in evaluation mode without recording gradients
/// (`d2l.evaluate_accuracy_gpu`). Restores the previous mode.
public func evaluateAccuracy(_ net: Module, on set: ImageSet, batchSize: Int, resize: BilinearResize) throws -> Double {
    let wasTraining = net.isTraining
    net.eval()
    defer { net.train(wasTraining) }
    var correct = 0
    try GradMode.withoutGrad {
        for indices in set.batches(size: batchSize) {
            let (x, y) = set.batch(indices, resize: resize)
            correct += correctCount(try net(x), labels: y)
        }
    }
    return Double(correct) / Double(Swift.max(set.count, 1))
}

extension Duration {
    /// The duration in seconds as a Double.
    public var seconds: Double {
        let (s, atto) = components
        return Double(s) + Double(atto) * 1e-18
    }
}
