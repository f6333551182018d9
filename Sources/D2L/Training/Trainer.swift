import Foundation

/// The book's training loop (`d2l.train_ch6`) with its exact result lines.
///
/// Per epoch: shuffle, then for every mini-batch forward → mean cross-entropy → backward and
/// SGD step, accumulating loss·n, correct predictions and n; then test accuracy in evaluation
/// mode. `examples/sec` counts the training steps only (data preparation and evaluation
/// excluded), as the book's timer does. Around that loop, and kept out of it: resuming a saved
/// run (`restore`), what is shown on the terminal (`TrainingConsole`), where the run stands
/// for a checkpoint (`progress`), and stopping on Ctrl-C or a non-finite loss.
public final class Trainer {
    public let net: Module
    public let data: FashionMNIST
    public let config: TrainConfig
    public let label: String
    /// Print nothing (no progress bar, estimate or epoch lines): for studies that train many networks.
    public var quiet = false
    /// Label smoothing ε of the training loss (0: the book's plain cross-entropy).
    public var labelSmoothing: Float = 0
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
        _ = try net.inEvaluationMode { try GradMode.withoutGrad { try net(probe) } }
    }

    /// Trains for `config.epochs` epochs, printing a progress bar and one line per epoch,
    /// and calling `onEpoch` after each (to write metrics, curves and a checkpoint as it goes).
    /// With `resumeFrom`, continues a saved run where it stopped: same history, same shuffled
    /// order for the rest of the interrupted epoch, same random stream for dropout.
    /// Throws `DivergenceError` at the first non-finite loss, and `InterruptedError` after the
    /// batch during which Ctrl-C or SIGTERM arrived (see `Interruption`); `progress` then
    /// describes the state after that batch.
    public func fit(resumeFrom: TrainingProgress? = nil, onEpoch: (EpochMetrics) throws -> Void = { _ in }) throws {
        try materialise()
        var shuffler = restore(resumeFrom)
        var console = quiet ? nil : TrainingConsole(label: label, config: config, trainImages: data.train.count, position: position)
        let resize = BilinearResize(from: data.train.height, to: config.resize)
        let sgd = config.optimizer(for: net.parameters)
        var watch = DivergenceWatch(factor: config.divergenceFactor)
        for epoch in stride(from: position.epoch, through: config.epochs, by: 1) {
            net.train()
            let shuffleState = TrainingProgress.hex(shuffler)
            let batches = data.train.shuffledBatches(size: config.batchSize, using: &shuffler)
            var totals = position.totals     // zeros, or the interrupted epoch's sums when resuming
            for (b, indices) in batches.enumerated() where b >= totals.batchesDone {
                let (x, y) = data.train.batch(indices, resize: resize)
                sgd.learningRate = config.learningRate(step: (epoch - 1) * batches.count + b, of: config.epochs * batches.count)
                let start = ContinuousClock.now
                sgd.zeroGrad()   // before the forward pass, as the book: last step's gradients go first
                let logits = try net(x)
                let loss = crossEntropy(logits, labels: y, labelSmoothing: labelSmoothing)
                try stopIfDiverged(loss, classes: logits.shape[1], epoch: epoch, batch: b + 1, learningRate: sgd.learningRate,
                                   watch: &watch, console: console)
                sgd.backwardAndStep(loss)
                let seconds = (ContinuousClock.now - start).seconds
                totals.add(loss: loss.item, correct: correctCount(logits, labels: y), count: y.count, seconds: seconds,
                           epoch: epoch, of: batches.count)
                console?.batchFinished(epoch: epoch, totals: totals, of: batches.count, images: y.count, seconds: seconds)
                try batchFinished(epoch: epoch, totals: totals, shuffleState: shuffleState, console: console)
            }
            sgd.zeroGrad()   // the next step would clear them anyway; evaluation need not hold them
            let testAcc = try evaluateAccuracy(net, on: data.test, batchSize: Swift.max(config.batchSize, 256), resize: resize)
            epochFinished(epoch: epoch, totals: totals, testAcc: testAcc, shuffler: shuffler, console: console)
            try onEpoch(history.last!)
        }
    }

    /// Takes over a saved run's history, counters and random streams; returns the shuffler
    /// (as it was before the interrupted epoch drew its order, or fresh from the seed).
    private func restore(_ saved: TrainingProgress?) -> SeededGenerator {
        let fresh = config.shuffleGenerator
        guard let saved else { return fresh }
        position = saved
        history = saved.history
        examples = saved.examples
        trainSeconds = saved.trainSeconds
        Random.generator = TrainingProgress.generator(saved.randomState) ?? Random.generator
        for (path, module) in net.namedModules {
            if let stream = saved.layerRandomStates[path].flatMap(TrainingProgress.generator) {
                module.restoreRandomStream(stream)
            }
        }
        return TrainingProgress.generator(saved.shuffleState) ?? fresh
    }

    private func stopIfDiverged(_ loss: Tensor, classes: Int, epoch: Int, batch: Int, learningRate: Float,
                                watch: inout DivergenceWatch, console: TrainingConsole?) throws {
        do {
            try watch.check(loss: loss.item, classes: classes, epoch: epoch, batch: batch, learningRate: learningRate)
        } catch {
            console?.clear()
            throw error
        }
    }

    /// Records where the run stands, and stops here if Ctrl-C or SIGTERM arrived.
    private func batchFinished(epoch: Int, totals: EpochTotals, shuffleState: [String], console: TrainingConsole?) throws {
        position = TrainingProgress(history: history, epoch: epoch, totals: totals, examples: examples,
                                    trainSeconds: trainSeconds, shuffleState: shuffleState)
        if Interruption.signal != 0 {
            console?.clear()
            throw InterruptedError(signal: Interruption.signal, epoch: epoch, batch: totals.batchesDone)
        }
    }

    private func epochFinished(epoch: Int, totals: EpochTotals, testAcc: Double, shuffler: SeededGenerator, console: TrainingConsole?) {
        examples += totals.seen
        trainSeconds += totals.stepSeconds
        let m = EpochMetrics(epoch: epoch, loss: totals.loss, trainAcc: totals.accuracy, testAcc: testAcc,
                             trainSeconds: totals.stepSeconds, trainPoints: totals.points)
        history.append(m)
        position = TrainingProgress(history: history, epoch: epoch + 1, totals: EpochTotals(), examples: examples,
                                    trainSeconds: trainSeconds, shuffleState: TrainingProgress.hex(shuffler))
        console?.epochFinished(m, images: totals.seen)
        fflush(nil)
    }

    /// The book's two result lines, e.g. `loss 0.273, train acc 0.899, test acc 0.807` and
    /// `32293.9 examples/sec on cpu`.
    public var resultLines: String {
        guard let last = history.last else { return "no epoch finished" }
        return String(format: "loss %.3f, train acc %.3f, test acc %.3f\n%.1f examples/sec on cpu",
                      last.loss, last.trainAcc, last.testAcc, examplesPerSec)
    }
}

extension TrainConfig {
    /// The generator that shuffles the training set, epoch after epoch.
    var shuffleGenerator: SeededGenerator { SeededGenerator(seed: seed &+ 0x5EED) }

    /// The indices of the first mini-batch the trainer draws: what the network sees at step 1.
    public func firstBatch(of set: ImageSet) -> ArraySlice<Int> {
        var generator = shuffleGenerator
        return set.shuffledBatches(size: batchSize, using: &generator)[0]
    }
}

/// Accuracy of `net` on a whole split, in evaluation mode without recording gradients
/// (`d2l.evaluate_accuracy_gpu`). Restores the previous mode.
public func evaluateAccuracy(_ net: Module, on set: ImageSet, batchSize: Int, resize: BilinearResize) throws -> Double {
    var correct = 0
    try net.inEvaluationMode { try GradMode.withoutGrad {
        for indices in set.batches(size: batchSize) {
            let (x, y) = set.batch(indices, resize: resize)
            correct += correctCount(try net(x), labels: y)
        }
    } }
    return Double(correct) / Double(Swift.max(set.count, 1))
}
