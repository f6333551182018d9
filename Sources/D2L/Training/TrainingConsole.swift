import Foundation

/// What a training run shows on the terminal as it goes: the progress bar, once the run-time
/// estimate measured over batches 2–4 (the first allocates the workspaces), and the line the
/// book prints per epoch.
struct TrainingConsole {
    let label: String
    let config: TrainConfig
    let trainImages: Int
    /// Images trained on before this process started (a resumed run estimates what is left).
    let alreadyTrained: Int
    private var bar: ProgressBar
    private var steps = 0, measuredImages = 0, measuredSeconds = 0.0

    /// The batch after which the run's duration is estimated (batches 2…4 are measured).
    static let estimateAfter = 3

    init(label: String, config: TrainConfig, trainImages: Int, position: TrainingProgress) {
        self.label = label; self.config = config; self.trainImages = trainImages
        alreadyTrained = (position.epoch - 1) * trainImages + position.seen
        bar = ProgressBar(interactive: ProgressBar.stdoutIsTerminal)
        bar.label = label
    }

    /// After each batch: `images` and `seconds` are that batch's.
    mutating func batchFinished(epoch: Int, totals: EpochTotals, of batches: Int, images: Int, seconds: Double) {
        steps += 1
        if steps > 1 { measuredImages += images; measuredSeconds += seconds }
        if steps == Self.estimateAfter + 1 && totals.batchesDone < batches {
            bar.clear()
            print(Self.estimateLine(imagesPerSecond: Double(measuredImages) / measuredSeconds, batchCount: Self.estimateAfter,
                                    config: config, trainImages: trainImages, alreadyTrained: alreadyTrained))
        }
        bar.update(epoch: epoch, epochs: config.epochs, batch: totals.batchesDone, batches: batches, loss: totals.loss,
                   acc: totals.accuracy, imagesPerSec: Double(totals.seen) / totals.stepSeconds,
                   secondsPerBatch: totals.stepSeconds / Double(totals.batchesDone))
    }

    func clear() { bar.clear() }

    func epochFinished(_ m: EpochMetrics, images: Int) {
        bar.clear()
        print(String(format: "%@epoch %d/%d: loss %.3f, train acc %.3f, test acc %.3f (%.1f s, %@ img/s)",
                     label.isEmpty ? "" : label + " ", m.epoch, config.epochs, m.loss, m.trainAcc, m.testAcc,
                     m.trainSeconds, groupDigits(Int(Double(images) / m.trainSeconds))))
    }

    /// `Measured 146 img/s over batches 2–4: 1 epoch of 36,000 images needs about 4 min 6 s of training, plus test evaluation.`
    /// A resumed run (`alreadyTrained` images done before this process) estimates what is left.
    static func estimateLine(imagesPerSecond rate: Double, batchCount: Int, config: TrainConfig, trainImages: Int,
                             alreadyTrained: Int = 0) -> String {
        let images = config.epochs * trainImages - alreadyTrained
        let epochs = "\(config.epochs) epoch\(config.epochs == 1 ? "" : "s") of \(groupDigits(trainImages)) images"
        let what = alreadyTrained > 0 ? "the remaining \(groupDigits(images)) images of \(epochs) need" : "\(epochs) need\(config.epochs == 1 ? "s" : "")"
        return "Measured \(groupDigits(Int(rate))) img/s over batches 2–\(batchCount + 1): \(what) "
            + "about \(spokenDuration(Double(images) / rate)) of training, plus test evaluation."
    }
}
