import ChapterKit
import D2L
import Foundation
import Models

/// The exercises of 7.3 this program answers. The training exercises compare NiN variants at
/// the chapter's quick settings (67×67, batch 16, lr 0.1) on a smaller budget, one seed: at
/// this budget NiN's result depends on whether and when it leaves its initial plateau, so the
/// conclusions say which runs did.
extension NiNChapter {
    static let exercises = [
        Exercise([1], .experiment, "Does NiN train better with one, two or three 1×1 convolutions in each block?", answer: mixingDepth),
        Exercise([2], .experiment, "What if the two 1×1 convolutions of each NiN block are 3×3 convolutions?", answer: mixingKernel),
        Exercise([3], .experiment, """
            Replace NiN's global average pooling with a dense layer: what happens to speed, accuracy and \
            the number of parameters?
            """, answer: denseHead),
        Exercise([4], .computed, """
            How many parameters does NiN have, how much computation does it need, and how much memory \
            does it take to train and to predict (measured)?
            """, answer: resourceUse),
        .discussion(5, "What can go wrong when the last block goes from 384 channels to 10 in one step?", answer: oneStepReduction),
        .discussion(6, "How would VGG's way of deriving VGG-11/16/19 give a family of NiN networks?", answer: {
            """
            Keep NiN's blocks and head and vary depth the way VGG does: more NiN blocks per resolution (two \
            or three before each pooling), each 3×3 or 1×1, with widths doubling after each pooling.
            """
        }),
    ]

    static func oneStepReduction() throws -> String {
        let block = ninBlock(channels: 10, kernel: 3, stride: 1, padding: 1)
        _ = try GradMode.withoutGrad { try block(Tensor.zeros([1, 384, 5, 5])) }
        return """
        That 3×3 convolution squeezes 384 channels into 10 with \(groupDigits(block.layers[0].parameterCount)) weights, and every \
        class score then rests on one ReLU channel: if a channel's ReLU is off for every image it never \
        learns again (the chapter checks for this), and the features cannot be recombined in between.
        """
    }

    /// The quick budget of the training exercises: 1 epoch of 25,000 images (NiN leaves its
    /// initial plateau after about a thousand steps of batch 16).
    static func variantStudy(_ run: ChapterRun, _ variants: [(String, () -> Module)]) throws -> VariantTraining {
        try run.trainVariants(variants, epochs: 1, trainLimit: 25_000, testLimit: 2_000)
    }

    static func mixingDepth(_ run: ChapterRun) throws -> ExerciseResult {
        let names = ["one 1×1", "two 1×1 (the book's)", "three 1×1"]
        let study = try variantStudy(run, names.enumerated().map { i, name in (name, { nin(mixing: i + 1) }) })
        Narration.say("""
        \(study.compare(names[0], with: names[1])). \(study.compare(names[2], with: names[1])). Each extra 1×1 \
        convolution deepens the per-pixel perceptron by a layer for \(groupDigits(study.parameters(names[2]) - study.parameters(names[1]))) \
        parameters; NiN's paper used two, and one already makes the block nonlinear per pixel.
        """)
        try run.draw(study.chart(title: "NiN with one, two or three 1×1 convolutions per block"), to: "exercise-1.png")
        return ExerciseResult(json: study.json.objectValue, pictures: ["exercise-1.png"])
    }

    static func mixingKernel(_ run: ChapterRun) throws -> ExerciseResult {
        let (book, wide) = ("1×1 (the book's)", "3×3")
        let study = try variantStudy(run, [(book, { nin() }), (wide, { nin(mixingKernel: 3) })])
        Narration.say(String(format: """
        %@. With 3×3 kernels the mixing convolutions have %.1f× the parameters (%@ against %@ in all) and \
        the network trains at %.0f images/s against %.0f. They are no longer a perceptron per pixel: each \
        also looks at its neighbours, which the block's first convolution already did.
        """, study.compare(wide, with: book), Double(study.parameters(wide)) / Double(study.parameters(book)),
            groupDigits(study.parameters(wide)), groupDigits(study.parameters(book)), study.imagesPerSecond(wide), study.imagesPerSecond(book)))
        try run.draw(study.chart(title: "NiN blocks with 1×1 or 3×3 mixing convolutions"), to: "exercise-2.png")
        return ExerciseResult(json: study.json.objectValue, pictures: ["exercise-2.png"])
    }

    static func denseHead(_ run: ChapterRun) throws -> ExerciseResult {
        let (book, dense) = ("global average pooling", "dense layer")
        let study = try variantStudy(run, [(book, { nin() }), (dense, { nin(denseHead: true) })])
        let side = study.config.resize
        let (denseHere, denseAtBook) = (try nin(denseHead: true).layerSummary(inputShape: [1, 1, side, side]),
                                        try nin(denseHead: true).layerSummary(inputShape: [1, 1, 224, 224]))
        // The last block's output, before Flatten and Linear.
        func lastMap(_ summary: LayerSummary) -> [Int] { summary.rows[summary.rows.count - 3].outputShape }
        let (here, atBook) = (lastMap(denseHere), lastMap(denseAtBook))
        let bookExtra = denseAtBook.totalParameters - (try nin().layerSummary(inputShape: [1, 1, 224, 224]).totalParameters)
        Narration.say(String(format: """
        %@. At %d×%d the last block's map is %@, so the dense layer adds %@ parameters (%@ against %@); at the \
        book's 224×224 it is %@ and the dense layer would add %@. Speed: %.0f against %.0f images/s. Global \
        average pooling has no parameters and gives every class one channel to fill, so it cannot overfit \
        where a dense head can, and it accepts any input size, where the dense layer fixes the map's size.
        """, study.compare(dense, with: book), side, side, Array(here.dropFirst()).shapeDescription,
            groupDigits(study.parameters(dense) - study.parameters(book)), groupDigits(study.parameters(dense)), groupDigits(study.parameters(book)),
            Array(atBook.dropFirst()).shapeDescription, groupDigits(bookExtra), study.imagesPerSecond(dense), study.imagesPerSecond(book)))
        try run.draw(study.chart(title: "NiN's head: global average pooling or a dense layer"), to: "exercise-3.png")
        return ExerciseResult(json: study.json.objectValue, pictures: ["exercise-3.png"])
    }

    /// Parameters and FLOPs at 224×224, and one training step and one prediction at the book's
    /// batch (128), measured; --full is the same.
    static func resourceUse(_ run: ChapterRun) throws -> ExerciseResult {
        let batch = run.book.batchSize, side = 224
        Random.seed(run.seed)
        let summary = try nin().layerSummary(inputShape: [1, 1, side, side])
        print(summary.table + "\n")
        var rows: [[String]] = [["step", "batch", "memory added (measured)", "kept for backward", "seconds"]]
        var measured: [String: StepMemory] = [:]
        for training in [true, false] {
            Random.seed(run.seed)
            let net = nin()
            net.initialize(.xavierUniform)
            let m = try StepMemory.measure(net, batch: batch, side: side, training: training, seed: run.seed)
            measured[training ? "training" : "prediction"] = m
            rows.append([training ? "training step" : "prediction", "\(batch)", StepMemory.describe(m.addedBytes),
                         training ? StepMemory.describe(m.savedForBackwardBytes) : "–", String(format: "%.1f", m.seconds)])
        }
        print(alignedColumns(rows, rightAligned: [1, 2, 3, 4]).joined(separator: "\n") + "\n")
        let (predict, train) = (measured["prediction"]!, measured["training"]!)
        let weights = summary.totalParameters * 4
        Narration.say(String(format: """
        NiN has %@ parameters (%.1f MB as Float32) and needs %@FLOPs per 224×224 image, a training step about \
        three times that. Predicting a batch of %d added %@ to the process: the batch's activations, each \
        freed once the next layer has read it. A training step added %@, of which the graph kept %@ for \
        backward: every layer's input waits there until the backward pass reaches it, so training memory \
        grows with depth × batch × map size, while prediction only needs the largest pair of adjacent maps. \
        The weights, their gradients and momentum-free SGD add little next to that (%.0f MB each).
        """, groupDigits(summary.totalParameters), Double(weights) / 1e6, formatFlops(summary.totalFlops), batch,
            StepMemory.describe(predict.addedBytes), StepMemory.describe(train.addedBytes), StepMemory.describe(train.savedForBackwardBytes),
            Double(weights) / 1e6))
        func json(_ m: StepMemory) -> JSONValue {
            .object(["added_bytes": m.addedBytes.map { .number(Double($0)) } ?? .null,
                     "saved_for_backward_bytes": .number(Double(m.savedForBackwardBytes)), "seconds": .number(m.seconds)])
        }
        return ExerciseResult(json: ["parameters": .number(Double(summary.totalParameters)), "forward_flops": .number(Double(summary.totalFlops)),
                                     "side": .number(Double(side)), "batch": .number(Double(batch)),
                                     "prediction": json(predict), "training": json(train)])
    }
}
