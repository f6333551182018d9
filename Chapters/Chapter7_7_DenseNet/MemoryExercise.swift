import ChapterKit
import D2L
import Foundation
import Models

extension DenseNetChapter {
    /// Exercise 3: one training step of the book's DenseNet at 224×224 with the core's
    /// recomputation (each BN → ReLU → convolution keeps BN's input only) and without it
    /// (every op keeps its input), and ResNet-18 for comparison; then one prediction.
    /// Quick: batch 32; --full: the book's batch (256), which needs several GiB.
    static func memoryAt224(_ run: ChapterRun) throws -> ExerciseResult {
        let side = 224
        let batch = run.options.batchSize ?? (run.settings.profile == "full" ? run.book.batchSize : 32)
        let cases: [(name: String, make: () -> Module, recompute: Bool, training: Bool)] = [
            ("DenseNet, training, recomputing", { denseNet() }, true, true),
            ("DenseNet, training, keeping everything", { denseNet() }, false, true),
            ("ResNet-18, training", { resNet18() }, true, true),
            ("DenseNet, prediction", { denseNet() }, true, false),
            ("ResNet-18, prediction", { resNet18() }, true, false)]
        var rows: [[String]] = [["step (batch \(batch), \(side)×\(side))", "memory added", "kept for backward", "seconds"]]
        var measured: [String: StepMemory] = [:]
        for c in cases {
            Random.seed(run.seed)
            let net = c.make()
            net.initialize(.xavierUniform)
            let m = c.recompute ? try StepMemory.measure(net, batch: batch, side: side, training: c.training, seed: run.seed)
                : try GradMode.withoutRecomputation { try StepMemory.measure(net, batch: batch, side: side, training: c.training, seed: run.seed) }
            measured[c.name] = m
            rows.append([c.name, StepMemory.describe(m.addedBytes), c.training ? StepMemory.describe(m.savedForBackwardBytes) : "–",
                         String(format: "%.1f", m.seconds)])
        }
        print(alignedColumns(rows, rightAligned: [1, 2, 3]).joined(separator: "\n") + "\n")
        let (lean, full, resnet) = (measured[cases[0].name]!, measured[cases[1].name]!, measured[cases[2].name]!)
        Narration.say(String(format: """
        At %d×%d a training step of DenseNet keeps %@ for backward with the recomputation and %@ without \
        (%.0f%% less), ResNet-18 %@. Concatenation itself is not the problem: each dense block's growing \
        input is stored once, by the concatenation, but in the naive form every BN → ReLU → convolution \
        keeps its own normalised copy of it as well, so memory grows quadratically with the layers of a \
        block. Recomputing BN's output and the ReLU during the backward pass, from the input that is kept \
        anyway (Pleiss et al., 2017, "Memory-efficient implementation of DenseNets"), needs a framework \
        whose ops can keep a recipe instead of a tensor, which this core's autograd does; the step took \
        %.1f s with it and %.1f s without (one step each, so only a rough figure). So DenseNet keeps %.1f× what ResNet-18 keeps with the \
        recomputation and %.1f× without: the criticism holds for the naive implementation.
        """, side, side, StepMemory.describe(lean.savedForBackwardBytes), StepMemory.describe(full.savedForBackwardBytes),
            100 * (1 - Double(lean.savedForBackwardBytes) / Double(Swift.max(full.savedForBackwardBytes, 1))),
            StepMemory.describe(resnet.savedForBackwardBytes), lean.seconds, full.seconds,
            Double(lean.savedForBackwardBytes) / Double(Swift.max(resnet.savedForBackwardBytes, 1)),
            Double(full.savedForBackwardBytes) / Double(Swift.max(resnet.savedForBackwardBytes, 1))))
        return ExerciseResult(json: ["side": .number(Double(side)), "batch": .number(Double(batch)),
                                     "steps": .object(measured.mapValues { m in
                                         .object(["added_bytes": m.addedBytes.map { .number(Double($0)) } ?? .null,
                                                  "saved_for_backward_bytes": .number(Double(m.savedForBackwardBytes)),
                                                  "seconds": .number(m.seconds)])
                                     })])
    }
}
