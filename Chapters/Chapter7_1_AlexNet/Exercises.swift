import ChapterKit
import D2L
import Foundation
import Models

/// The exercises of 7.1 this program answers.
extension AlexNetChapter {
    static let exercises = [
        Exercise([1], .computed, """
            How much memory and computation do AlexNet's convolutions take, and how much its dense layers, \
            for inference and for training?
            """, answer: memoryAndComputation),
        .discussion(2, "As a chip designer, how would you balance arithmetic against memory bandwidth for AlexNet?", answer: chipDesign),
        .discussion(3, "Why are AlexNet benchmarks no longer reported?", answer: whyNoBenchmarks),
        Exercise([4], .experiment, "What do more epochs give AlexNet, and how does that differ from LeNet trained on the same images?",
                 answer: moreEpochs),
        Exercise([5], .experiment, """
            A smaller AlexNet built for 28×28 images: how does it compare with the original on resized images, \
            in accuracy and in time?
            """, answer: smallAlexNet),
        Exercise([6], .experiment, "How does the batch size change AlexNet's speed, accuracy and memory?", answer: batchSizeSweep),
        Exercise([7], .experiment, "Does LeNet-5 improve with ReLU instead of sigmoid, with dropout, or with both?",
                 answer: leNetReLUAndDropout),
        Exercise([8], .experiment, "What makes AlexNet overfit? Remove its dropout and measure the gap between training and test accuracy.",
                 answer: overfitting),
    ]

    /// FLOPs per byte of weights read, convolutions against dense layers, at 224×224.
    static func chipDesign() throws -> String {
        let summary = try alexNet().layerSummary(inputShape: [1, 1, 224, 224])
        func intensity(_ kind: String) -> Double {
            let rows = summary.rows.filter { $0.typeName == kind }
            return Double(rows.map(\.flops).reduce(0, +)) / Double(4 * rows.map(\.parameters).reduce(0, +))
        }
        return String(format: """
        Per image, AlexNet's convolutions do %.0f FLOPs per byte of weights they read, its dense layers %.1f: \
        the convolutions want arithmetic units, the dense layers bandwidth (or large batches, which use \
        each weight they fetch for every image of the batch). A balanced chip sizes both for the mix, and caches the weights it reuses.
        """, intensity("Conv2d"), intensity("Linear"))
    }

    static func whyNoBenchmarks() throws -> String {
        let c = try NetworkComparison([("AlexNet", { alexNet() }), ("ResNet-18", { resNet18() })], side: 224)
        let (a, r) = (c.row("AlexNet"), c.row("ResNet-18"))
        return String(format: """
        Later designs are better on every axis that matters: ResNet-18 has %.0f%% of AlexNet's parameters \
        (%@ against %@) and is far more accurate, and %.0f%% of AlexNet's parameters sit in dense layers that \
        modern networks no longer have, so AlexNet's speed says little about the workloads people run now.
        """, 100 * Double(r.parameters) / Double(a.parameters), groupDigits(r.parameters), groupDigits(a.parameters), 100 * a.denseShare)
    }

    /// Per kind of layer at 224×224: parameters, their bytes, output activations per image,
    /// forward FLOPs; and what one training step keeps for backward, measured.
    static func memoryAndComputation(_ run: ChapterRun) throws -> ExerciseResult {
        Random.seed(run.seed)
        let net = alexNet()
        let summary = try net.layerSummary(inputShape: [1, 1, 224, 224])
        func totals(_ kind: String) -> (parameters: Int, activations: Int, flops: Int) {
            let rows = summary.rows.filter { $0.typeName == kind }
            return (rows.map(\.parameters).reduce(0, +), rows.map { $0.outputShape.reduce(1, *) }.reduce(0, +), rows.map(\.flops).reduce(0, +))
        }
        let (conv, dense) = (totals("Conv2d"), totals("Linear"))
        func mb(_ floats: Int) -> String { String(format: "%.1f MB", Double(floats * 4) / 1e6) }
        let rows = [["layers", "parameters", "their memory", "outputs per image", "forward FLOPs per image"],
                    ["5 convolutions", groupDigits(conv.parameters), mb(conv.parameters), mb(conv.activations), formatFlops(conv.flops) + "FLOPs"],
                    ["3 dense layers", groupDigits(dense.parameters), mb(dense.parameters), mb(dense.activations), formatFlops(dense.flops) + "FLOPs"]]
        print("AlexNet on one 224×224 gray image, Float32 (a multiply-add counts as 2 FLOPs):\n")
        print(alignedColumns(rows, rightAligned: [1, 2, 3, 4]).joined(separator: "\n") + "\n")
        // Measured: what the graph of one training forward pass keeps for backward, batch 8.
        net.initialize(.xavierUniform)
        let batch = 8
        let x = Tensor(shape: [batch, 1, 224, 224], data: [Float](repeating: 0.5, count: batch * 224 * 224))
        let loss = crossEntropy(try net(x), labels: [Int32](repeating: 3, count: batch))
        let savedPerImage = loss.bytesSavedForBackward / batch
        print("Measured: one training step keeps \(String(format: "%.1f MB", Double(savedPerImage) / 1e6)) per image for its backward pass "
              + "(batch \(batch), what the autograd graph holds).\n")
        let trainingBatch = run.book.batchSize
        let weights = Double(conv.parameters + dense.parameters) * 4
        let kept = Double(savedPerImage * trainingBatch)
        // Weights and their gradients against what backward keeps: which is larger at the book's
        // batch, and from which batch on the activations take over.
        let crossover = Int((2 * weights / Double(savedPerImage)).rounded(.up))
        let training = kept > 2 * weights
            ? String(format: "the activations, %.0f MB, outweigh the weights and their gradients (%.0f MB) from batch %d on",
                     kept / 1e6, 2 * weights / 1e6, crossover)
            : String(format: "the weights and their gradients, %.0f MB, still outweigh the %.0f MB of activations; those grow with the batch and take over from batch %d",
                     2 * weights / 1e6, kept / 1e6, crossover)
        Narration.say(String(format: """
        The dense layers hold %.0f%% of the parameters (%@ of weights against the convolutions' %@) but do \
        only %.1f%% of the arithmetic; the convolutions do %.1f%% of the FLOPs and produce %.0f%% of the \
        activations. For inference one image needs the %.0f MB of weights and %@ of activations: memory \
        size and bandwidth go to the dense layers' weights, each read once per image for 2 FLOPs per weight, \
        while the convolutions reuse each weight at every position. Training keeps %.1f MB per image for \
        backward (measured); at the book's batch of %d, %@.
        """, 100 * Double(dense.parameters) / Double(conv.parameters + dense.parameters), mb(dense.parameters), mb(conv.parameters),
            100 * Double(dense.flops) / Double(summary.totalFlops), 100 * Double(conv.flops) / Double(summary.totalFlops),
            100 * Double(conv.activations) / Double(conv.activations + dense.activations), weights / 1e6,
            mb(conv.activations + dense.activations), Double(savedPerImage) / 1e6, trainingBatch, training))
        func group(_ t: (parameters: Int, activations: Int, flops: Int)) -> JSONValue {
            .object(["parameters": .number(Double(t.parameters)), "activations_per_image": .number(Double(t.activations)),
                     "forward_flops_per_image": .number(Double(t.flops))])
        }
        return ExerciseResult(json: ["side": .number(224), "convolutions": group(conv), "dense_layers": group(dense),
                                     "saved_for_backward_bytes_per_image": .number(Double(savedPerImage))])
    }
}
