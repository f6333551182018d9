import Foundation

/// Stops a run whose loss has run away. A loss that is not a number stops it at once; a finite
/// loss stops it when it stays above `factor` × ln(classes) for `patience` batches in a row.
/// ln(classes) is the loss of a uniform guess (2.303 for ten classes), where every network of
/// the book starts and where one that learns nothing stays; a loss three times that for ten
/// batches running means the steps are throwing the network away, not training it.
struct DivergenceWatch {
    static let patience = 10
    let factor: Double
    private var above = 0

    /// - Parameter factor: the threshold over a uniform guess's loss; 0 watches for NaN and ∞ only.
    init(factor: Double) { self.factor = factor }

    /// Checks one batch's mean loss; throws `DivergenceError` when the run should stop.
    mutating func check(loss: Float, classes: Int, epoch: Int, batch: Int, learningRate: Float) throws {
        guard loss.isFinite else {
            throw DivergenceError(epoch: epoch, batch: batch, learningRate: learningRate, loss: loss, threshold: nil)
        }
        let threshold = factor * Foundation.log(Double(Swift.max(classes, 2)))
        above = factor > 0 && Double(loss) > threshold ? above + 1 : 0
        if above >= Self.patience {
            throw DivergenceError(epoch: epoch, batch: batch, learningRate: learningRate, loss: loss,
                                  threshold: (value: threshold, factor: factor, classes: classes, batches: above))
        }
    }
}

/// Training stopped because the loss stopped being a finite number, or ran away (see
/// `DivergenceWatch`).
public struct DivergenceError: Error, CustomStringConvertible {
    public let epoch: Int, batch: Int, learningRate: Float, loss: Float
    /// For a runaway loss: the threshold it stayed above, as factor × ln(classes), and for how many batches.
    public let threshold: (value: Double, factor: Double, classes: Int, batches: Int)?

    public var description: String {
        let what = if let t = threshold {
            String(format: "the loss stayed above %.2f (%g × ln %d, the loss of a uniform guess) for %d batches in a row, reaching %g",
                   t.value, t.factor, t.classes, t.batches, Double(loss))
        } else {
            "loss became \(loss)"
        }
        return "training diverged: \(what) in epoch \(epoch), batch \(batch) at learning rate \(learningRate). "
            + "Try a smaller --lr (e.g. \(learningRate / 10)); metrics up to the last finished epoch were kept."
            + (threshold != nil ? " --no-divergence-check trains on regardless." : "")
    }
}
