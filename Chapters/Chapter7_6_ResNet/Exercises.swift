import ChapterKit
import D2L
import Foundation
import Models

/// The exercises of 7.6 this program answers.
extension ResNetChapter {
    static let exercises = [
        .discussion(1, "How do the Inception block and the residual block differ in computation, accuracy and the functions they can describe?",
                    answer: inceptionAgainstResidual),
        .discussion(5, "Why can't we make the function class ever more complex, even when the classes are nested?", answer: {
            """
            Nesting guarantees a larger class is never worse in principle, but every added layer costs \
            computation and memory, needs more data to fit without overfitting, and makes optimisation \
            harder; residual blocks keep the last cost small, not the others.
            """
        }),
        Exercise([2], .experiment, """
            Build ResNet-34 from Table 1 of the ResNet paper: shapes and parameters, and how it trains next to \
            ResNet-18 with the same seed, data and budget.
            """, answer: resNet34FromTheTable),
        Exercise([3], .experiment, """
            Deeper ResNets use a bottleneck block (1×1, 3×3, 1×1 convolutions): build ResNet-18's layout from \
            it and compare with ResNet-18 at the same budget.
            """, answer: bottleneckBlocks),
        Exercise([4], .experiment, """
            The pre-activation block puts batch norm and ReLU before each convolution: does ResNet-18 train \
            better with it?
            """, answer: preActivationBlocks),
    ]

    /// GoogLeNet's first Inception block against a residual block with the same output width, on a 12×12 map.
    static func inceptionAgainstResidual() throws -> String {
        let inception = Inception(64, (96, 128), (16, 32), 32), residual = Residual(256, use1x1Conv: true)
        let x = Tensor.zeros([1, 192, 12, 12])
        let si = try inception.layerSummary(inputShape: x.shape), sr = try residual.layerSummary(inputShape: x.shape)
        return """
        On a 192×12×12 input, GoogLeNet's first Inception block (256 outputs) has \(groupDigits(si.totalParameters)) parameters and \
        \(formatFlops(si.totalFlops))FLOPs, a residual block to 256 channels \(groupDigits(sr.totalParameters)) and \(formatFlops(sr.totalFlops))FLOPs. \
        Inception widens (parallel paths of several kernel sizes, concatenated); the residual block adds \
        its input back, so it can express the identity and deep stacks stay trainable: that, not a richer \
        block, is what let ResNets go deeper and more accurate.
        """
    }

    static func resNet34FromTheTable(_ run: ChapterRun) throws -> ExerciseResult {
        print("ResNet-34: stages of 3, 4, 6 and 3 residual blocks (ResNet-18: 2, 2, 2, 2)")
        print(try resNet34().layerSummary(inputShape: [1, 1, 224, 224]).printout + "\n")
        let ours = try NetworkComparison([("ResNet-18", { resNet18() }), ("ResNet-34", { resNet34() })], side: 224)
        let imagenet = try NetworkComparison([("ResNet-18", { resNet18(classes: 1000) }), ("ResNet-34", { resNet34(classes: 1000) })],
                                             side: 224, channels: 3)
        print(ours.table + "\n")
        print("For ImageNet's colour images and 1,000 classes:\n")
        print(imagenet.table + "\n")
        // What separates the book's blocks from the paper's (torchvision's): biases on the
        // convolutions, and batch norm on the 1×1 shortcut convolutions.
        let net = resNet34(classes: 1000)
        _ = try GradMode.withoutGrad { try net(Tensor.zeros([1, 3, 64, 64])) }
        let convolutions = net.namedModules.compactMap { $0.1 as? Conv2d }
        let biases = convolutions.filter(\.hasBias).map(\.outChannels).reduce(0, +)
        let shortcuts = convolutions.filter { $0.kernel == (1, 1) }
        let shortcutNorms = 2 * shortcuts.map(\.outChannels).reduce(0, +)
        let paperStyle = imagenet.row("ResNet-34").parameters - biases + shortcutNorms
        let (r18, r34) = (ours.row("ResNet-18"), ours.row("ResNet-34"))
        Narration.say(String(format: """
        ResNet-34 has %@ parameters for Fashion-MNIST, %.2f× ResNet-18's, and needs %.2f× its FLOPs. For \
        ImageNet it has %@; without the %@ convolution biases of the book's blocks and with batch norm on \
        its %d 1×1 shortcuts (%@ parameters), as the paper's models have, that is %@, the paper's 21.8 \
        million (torchvision: 21,797,672). Each added block keeps its stage's width, so depth costs \
        parameters in proportion to the width of the stage it goes into.
        """, groupDigits(r34.parameters), Double(r34.parameters) / Double(r18.parameters), Double(r34.flops) / Double(r18.flops),
            groupDigits(imagenet.row("ResNet-34").parameters), groupDigits(biases), shortcuts.count, groupDigits(shortcutNorms), groupDigits(paperStyle)))
        // Both trained with the chapter's quick settings on a smaller budget (1 epoch of 15,000 images).
        let config = run.exerciseConfig(epochs: 1, trainLimit: 15_000, testLimit: 2_000)
        let data = try run.loadData(trainLimit: config.trainLimit, testLimit: config.testLimit)
        var trained: [(name: String, result: EpochMetrics, imagesPerSecond: Double)] = []
        for (name, make) in [("ResNet-18", { resNet18() }), ("ResNet-34", { resNet34() })] as [(String, () -> Sequential)] {
            Random.seed(config.seed)
            let net = make()
            net.initialize(.xavierUniform)
            let trainer = Trainer(net: net, data: data, config: config)
            trainer.quiet = true
            try trainer.fit()
            let last = trainer.history.last!
            trained.append((name, last, trainer.examplesPerSec))
            print(String(format: "%@: loss %.3f, train acc %.3f, test acc %.3f, %.0f img/s", name, last.loss, last.trainAcc, last.testAcc,
                         trainer.examplesPerSec))
        }
        print()
        let (a, b) = (trained[0], trained[1])
        Narration.say(String(format: """
        Trained for %d epoch%@ of %@ images at %d×%d: ResNet-34 reaches %.3f test accuracy against ResNet-18's \
        %.3f (%+.3f) and trains %.2f× slower per image. %@
        """, config.epochs, config.epochs == 1 ? "" : "s", groupDigits(data.train.count), config.resize, config.resize,
            b.result.testAcc, a.result.testAcc, b.result.testAcc - a.result.testAcc, a.imagesPerSecond / b.imagesPerSecond,
            b.result.testAcc > a.result.testAcc ? "The deeper network is ahead even at this budget."
                : "At this budget the extra depth does not pay yet; the paper measured its gain on ImageNet with far longer training."))
        return ExerciseResult(json: ["fashion_mnist": ours.json, "imagenet": imagenet.json,
                                     "imagenet_without_conv_biases_with_shortcut_norms": .number(Double(paperStyle)),
                                     "training": .array(trained.map {
                                         .object(["network": .string($0.name), "test_acc": .number($0.result.testAcc),
                                                  "loss": .number($0.result.loss), "images_per_second": .number($0.imagesPerSecond)])
                                     })])
    }
}
