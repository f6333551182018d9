import ChapterKit
import D2L
import Foundation
import Models

/// The exercises of 7.4 that train networks, at the chapter's quick settings (28×28, batch 64,
/// lr 0.1) on a smaller budget, one seed, the same images for every variant.
extension GoogLeNetChapter {
    /// The label smoothing ε of exercise 1 (Szegedy et al., 2016, used 0.1 for Inception v3).
    static let labelSmoothing: Float = 0.1

    /// Exercise 1: the book's GoogLeNet, with batch norm after every convolution, and with
    /// label smoothing. Quick: 1 epoch of 40,000 images (the book's network needs several hundred
    /// steps to leave its initial plateau).
    static func batchNormAndLabelSmoothing(_ run: ChapterRun) throws -> ExerciseResult {
        let config = run.exerciseConfig(epochs: 1, trainLimit: 40_000, testLimit: 2_000)
        let data = try run.loadData(trainLimit: config.trainLimit, testLimit: config.testLimit)
        let (book, bn, smooth) = ("the book's GoogLeNet", "with batch norm", "with label smoothing \(labelSmoothing)")
        let study = try VariantTraining([(book, { googLeNet() }), (bn, { googLeNet(batchNorm: true) }), (smooth, { googLeNet() })],
                                        config: config, data: data, configure: { name, trainer in
            if name == smooth { trainer.labelSmoothing = labelSmoothing }
        })
        print(study.table + "\n(the loss of the smoothed run is the smoothed cross-entropy, which cannot reach 0)\n")
        Narration.say(String(format: """
        %@. %@. Batch normalization (Inception v2) adds %@ parameters and costs %.0f%% of the training speed \
        here; it keeps each layer's inputs standardised, so the deep stack of Inception blocks trains at a \
        learning rate that would otherwise be hard to use. Label smoothing (Inception v3) trains towards \
        %.2f for the true class and %.3f for each other one, instead of 1 and 0: the network is never asked \
        for infinitely large logits, which regularises it. %@
        """, study.compare(bn, with: book), study.compare(smooth, with: book), groupDigits(study.parameters(bn) - study.parameters(book)),
            100 * (1 - study.imagesPerSecond(bn) / Swift.max(study.imagesPerSecond(book), 1)),
            Double(1 - labelSmoothing + labelSmoothing / 10), Double(labelSmoothing / 10),
            study.trainAccuracy(book) > study.testAccuracy(book) + 0.02
                ? String(format: "The book's network already fits its training images better than the test images (%.3f against %.3f), which is what a regulariser works on.",
                         study.trainAccuracy(book), study.testAccuracy(book))
                : String(format: "A regulariser pays off once a network overfits, and at this budget the book's network does not yet (running train accuracy %.3f, test %.3f).",
                         study.trainAccuracy(book), study.testAccuracy(book))))
        try run.draw(study.lossCurves(title: "GoogLeNet with batch norm or label smoothing"), to: "exercise-1.png")
        return ExerciseResult(json: study.json.objectValue.merging(["label_smoothing": .number(Double(labelSmoothing))]) { a, _ in a },
                              pictures: ["exercise-1.png"])
    }

    /// Exercise 3: `googLeNet(smallInput: true)` against the book's GoogLeNet, both on the
    /// 28×28 originals. Quick: 1 epoch of 30,000 images.
    static func smallInputVariant(_ run: ChapterRun) throws -> ExerciseResult {
        let config = run.exerciseConfig(epochs: 1, trainLimit: 30_000, testLimit: 2_000, resize: 28)
        let data = try run.loadData(trainLimit: config.trainLimit, testLimit: config.testLimit)
        let (book, small) = ("the book's GoogLeNet", "GoogLeNet for 28×28")
        // The two networks on 28×28 images, and the book's on its 96×96 ones.
        let summaries = try [(googLeNet(), 28), (googLeNet(smallInput: true), 28), (googLeNet(), 96)].map { net, side in
            try net.layerSummary(inputShape: [1, 1, side, side])
        }
        func maps(_ summary: LayerSummary) -> String {
            summary.rows.prefix(4).map { Array($0.outputShape.dropFirst()).shapeDescription }.joined(separator: " → ")
        }
        print("Stage outputs b1 → b4 at 28×28, the book's stem: \(maps(summaries[0]))")
        print("Stage outputs b1 → b4 at 28×28, the small stem:  \(maps(summaries[1]))")
        print("Stage outputs b1 → b4 at the book's 96×96:       \(maps(summaries[2]))\n")
        let study = try VariantTraining([(book, { googLeNet() }), (small, { googLeNet(smallInput: true) })], config: config, data: data)
        print(study.table + "\n")
        let flops = summaries.map(\.totalFlops)
        // The map sizes the Inception stages b3, b4 and b5 work on: the outputs of b2, b3 and b4.
        func inceptionMaps(_ summary: LayerSummary) -> String {
            summary.rows[1...3].map { "\($0.outputShape[2])×\($0.outputShape[3])" }.joined(separator: ", ")
        }
        Narration.say(String(format: """
        %@. The book's stem divides the side by 4 before the first Inception block, so on 28×28 images \
        the Inception stages work on %@ maps, where most of their 3×3 and 5×5 kernels look at padding. \
        The small stem gives them %@ (%@ for the book's network on 96×96 images), for %@FLOPs per image \
        against %@FLOPs (%@FLOPs at 96×96, which enlarges every image %.0f-fold first), and trains at %.0f \
        images/s against %.0f.
        """, study.compare(small, with: book), inceptionMaps(summaries[0]), inceptionMaps(summaries[1]),
            inceptionMaps(summaries[2]), formatFlops(flops[1]), formatFlops(flops[0]), formatFlops(flops[2]),
            96.0 * 96 / 784, study.imagesPerSecond(small), study.imagesPerSecond(book)))
        try run.draw(study.chart(title: "GoogLeNet on 28×28 images: the book's stem or a small one"), to: "exercise-3.png")
        return ExerciseResult(json: study.json.objectValue.merging([
            "forward_flops": .object([book: .number(Double(flops[0])), small: .number(Double(flops[1])), "book_at_96": .number(Double(flops[2]))]),
        ]) { a, _ in a }, pictures: ["exercise-3.png"])
    }
}
