/// The running sums of one epoch (the book's `Accumulator(3)` plus the time of the steps):
/// loss·n, correct predictions and n over the batches so far, and the plot points that
/// `train_ch6` adds every ⌊batches/5⌋ batches and after the last.
public struct EpochTotals: Sendable, Equatable {
    public var batchesDone = 0
    public var lossSum = 0.0, correct = 0, seen = 0
    /// Seconds spent in training steps (forward, backward, update).
    public var stepSeconds = 0.0
    public var points: [TrainPoint] = []

    public init() {}

    /// Mean loss and accuracy over the batches so far.
    public var loss: Double { lossSum / Double(seen) }
    public var accuracy: Double { Double(correct) / Double(seen) }

    /// Adds one batch of `count` images whose mean loss was `loss`; `batches` is the number of
    /// batches of `epoch` (1-based), which decides where the plot points fall.
    public mutating func add(loss: Float, correct: Int, count: Int, seconds: Double, epoch: Int, of batches: Int) {
        batchesDone += 1
        lossSum += Double(loss) * Double(count)
        self.correct += correct
        seen += count
        stepSeconds += seconds
        if batchesDone % Swift.max(1, batches / 5) == 0 || batchesDone == batches {
            points.append(TrainPoint(epoch: Double(epoch - 1) + Double(batchesDone) / Double(batches), loss: self.loss, trainAcc: accuracy))
        }
    }
}
