import D2L
import Foundation

/// What one step of a network costs in memory, measured: the peak resident memory the step
/// added to what the process held before it (input batch and parameters already allocated),
/// and for a training step what its autograd graph kept for backward.
public struct StepMemory {
    /// VmHWM − VmRSS before the step, when the system reports both.
    public let addedBytes: Int?
    /// What the forward pass's graph held for backward (0 for prediction).
    public let savedForBackwardBytes: Int
    public let seconds: Double

    /// Runs one training step (forward, cross-entropy, backward, an SGD update with learning
    /// rate 0) or one prediction (evaluation mode, no graph) on a batch of random images.
    public static func measure(_ net: Module, batch: Int, side: Int, training: Bool, seed: UInt64 = 0) throws -> StepMemory {
        var g = SeededGenerator(seed: seed)
        _ = try net.inEvaluationMode { try GradMode.withoutGrad { try net(Tensor.zeros([1, 1, side, side])) } }  // lazy layers
        let x = Tensor(shape: [batch, 1, side, side], data: (0..<batch * side * side).map { _ in g.uniform(0, 1) })
        let labels = (0..<batch).map { Int32($0 % 10) }
        ProcessMemory.resetPeak()
        let before = ProcessMemory.residentBytes()
        let start = ContinuousClock.now
        var saved = 0
        if training {
            net.train()
            let loss = crossEntropy(try net(x), labels: labels)
            saved = loss.bytesSavedForBackward
            SGD(net.parameters, learningRate: 0).backwardAndStep(loss)
        } else {
            _ = try net.inEvaluationMode { try GradMode.withoutGrad { try net(x) } }
        }
        let seconds = (ContinuousClock.now - start).seconds
        let peak = ProcessMemory.peakBytes()
        return StepMemory(addedBytes: peak.flatMap { p in before.map { p - $0 } }, savedForBackwardBytes: saved, seconds: seconds)
    }

    /// "412 MB", or "–" where the system does not report memory.
    public static func describe(_ bytes: Int?) -> String { bytes.map { String(format: "%.0f MB", Double($0) / 1e6) } ?? "–" }
}
