import ChapterKit
import D2L
import Foundation
import Models

/// Exercises 3 and 4 of 7.6: ResNet-18 against versions with other residual blocks, trained
/// with the chapter's quick settings (28×28, batch 128, lr 0.05, the last half of the steps
/// decaying) on 1 epoch of 15,000 images, one seed, the same images for all.
extension ResNetChapter {
    static func blockStudy(_ run: ChapterRun, _ variants: [(String, () -> Module)]) throws -> VariantTraining {
        try run.trainVariants(variants, epochs: 1, trainLimit: 15_000, testLimit: 2_000)
    }

    static func bottleneckBlocks(_ run: ChapterRun) throws -> ExerciseResult {
        let plain = Residual(256)
        _ = try GradMode.withoutGrad { try plain(Tensor.zeros([1, 256, 8, 8])) }
        let inner = BottleneckResidual(64)
        _ = try GradMode.withoutGrad { try inner(Tensor.zeros([1, 256, 8, 8])) }
        print("On 256 channels: a bottleneck block has \(groupDigits(inner.parameterCount)) parameters, "
              + "the book's block of two 3×3 convolutions \(groupDigits(plain.parameterCount)).\n")
        let imagenet50 = try NetworkComparison([("ResNet-50", { bottleneckResNet(blocks: [3, 4, 6, 3], classes: 1000) })], side: 224, channels: 3)
        print("ResNet-50 (3, 4, 6 and 3 bottleneck blocks) for ImageNet, built from these blocks:\n")
        print(imagenet50.table + "\n")
        let (book, bottleneck) = ("ResNet-18", "bottleneck ResNet-26")
        let study = try blockStudy(run, [(book, { resNet18() }), (bottleneck, { bottleneckResNet() })])
        Narration.say(String(format: """
        A bottleneck block runs its 3×3 convolution on a quarter of the channels it outputs, so on 256 \
        channels it needs %.1f%% of the parameters of two 3×3 convolutions (%@ against %@): that is how \
        ResNet-50 and deeper afford their depth. Built with ResNet-18's layout, two blocks per stage with \
        outputs four times as wide (26 layers with weights), the bottleneck network has %@ parameters \
        against %@ and trains at %.0f images/s against %.0f. %@. ResNet-50 built from these blocks has %@ \
        parameters for ImageNet (the paper's 25.6 million; the book's blocks add biases and leave batch norm \
        off the shortcut).
        """, 100 * Double(inner.parameterCount) / Double(plain.parameterCount), groupDigits(inner.parameterCount), groupDigits(plain.parameterCount),
            groupDigits(study.parameters(bottleneck)), groupDigits(study.parameters(book)),
            study.imagesPerSecond(bottleneck), study.imagesPerSecond(book), study.compare(bottleneck, with: book),
            groupDigits(imagenet50.rows[0].parameters)))
        try run.draw(study.chart(title: "ResNet-18 and a ResNet of bottleneck blocks"), to: "exercise-3.png")
        return ExerciseResult(json: study.json.objectValue.merging([
            "block_parameters_on_256_channels": .object(["bottleneck": .number(Double(inner.parameterCount)), "basic": .number(Double(plain.parameterCount))]),
            "resnet50_imagenet": imagenet50.json,
        ]) { a, _ in a }, pictures: ["exercise-3.png"])
    }

    static func preActivationBlocks(_ run: ChapterRun) throws -> ExerciseResult {
        let (book, pre) = ("ResNet-18", "pre-activation ResNet-18")
        let study = try blockStudy(run, [(book, { resNet18() }), (pre, { preActivationResNet18() })])
        Narration.say(String(format: """
        %@. The pre-activation block (He et al., 2016, "Identity mappings") ends with its addition: nothing \
        transforms the shortcut path, so the output of any block is the input of an earlier one plus a sum \
        of residuals, and gradients reach the first layers unchanged through the chain of identities. The \
        paper measured its gain on networks of 164 and 1001 layers; at 18 layers and this budget the two \
        blocks train at %.0f and %.0f images/s and the difference above is what remains.
        """, study.compare(pre, with: book), study.imagesPerSecond(book), study.imagesPerSecond(pre)))
        try run.draw(study.lossCurves(title: "ResNet-18: the book's block or the pre-activation block"), to: "exercise-4.png")
        return ExerciseResult(json: study.json.objectValue, pictures: ["exercise-4.png"])
    }
}
