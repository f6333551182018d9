import ArgumentParser
import ChapterKit
import D2L
import Foundation
import Models

/// D2L zh 7.2 / en 8.2, "Networks Using Blocks (VGG)", as a narrated program.
@main
struct VGGChapter: Chapter {
    static let configuration = CommandConfiguration(
        commandName: "Chapter7_2_VGG",
        abstract: "VGG: networks built from repeated blocks, a slimmed VGG-11 trained on Fashion-MNIST.",
        discussion: """
        Shows a VGG block, prints VGG-11's shapes as the book does, trains the book's small VGG (channels ÷ 4)
        on Fashion-MNIST and writes filters.png, feature-maps.png, training-curves.png and metrics.json.
        """)
    static let section = "7.2"

    /// zh 2.0.0: lr 0.05, batch 128, 10 epochs, 224×224, Xavier.
    static let book = TrainConfig(epochs: 10, batchSize: 128, learningRate: 0.05, resize: 224)
    /// Quick default (about 4.5 minutes on 2 cores): 48×48 images (VGG needs at least 32),
    /// batch 64 with learning rate 0.1 (more, larger steps to leave the initial plateau), one
    /// epoch.
    static let quick = TrainConfig(epochs: 1, batchSize: 64, learningRate: 0.1, resize: 48)

    let run: ChapterRun

    func tell() throws {
        Narration.section("7.2 Networks Using Blocks (VGG)")
        Narration.say("""
        AlexNet showed that deep networks work, but gave no template for building new ones. The \
        Visual Geometry Group in Oxford (Simonyan and Zisserman, 2014) thought in blocks instead of \
        single layers: a few 3×3 convolutions followed by a pooling layer that halves the size. Two \
        stacked 3×3 convolutions see as far as one 5×5 but have fewer parameters (2·9 = 18 vs 25 per \
        channel pair) and one more nonlinearity, so deep and narrow beat shallow and wide.
        """)
        try blockDemo()
        let net = try modelSummary()
        if run.mode == .summaryOnly { return }
        let data = try run.loadData()
        try train(net, data: data)
    }

    func blockDemo() throws {
        Narration.section("7.2.1 VGG blocks")
        Narration.say("""
        `vggBlock(convs:channels:)` is `convs` × (3×3 convolution with padding 1, ReLU), which keeps \
        height and width, followed by 2×2 max pooling with stride 2, which halves them.
        """)
        Random.seed(run.seed)
        let block = vggBlock(convs: 2, channels: 128)
        let x = Tensor.zeros([1, 64, 56, 56])
        let y = try GradMode.withoutGrad { try block(x) }
        print("vggBlock(convs: 2, channels: 128) on X of shape \(x.shape.shapeDescription) gives \(y.shape.shapeDescription)\n")
        run.metrics.results["block_demo_shape"] = .array(y.shape.map { .number(Double($0)) })
    }

    func modelSummary() throws -> Sequential {
        Narration.section("7.2.2 The VGG network")
        let arch = vgg11Architecture.map { "(\($0.convs), \($0.channels))" }.joined(separator: ", ")
        Narration.say("""
        VGG-11 has five blocks, conv_arch = (\(arch)): 8 convolutional layers and 3 fully \
        connected ones. Five halvings take 224×224 to 7×7. The book's shapes on one 224×224 image, \
        one line per block:
        """)
        Random.seed(run.seed)
        let full = try vgg(vgg11Architecture).layerSummary(inputShape: [1, 1, 224, 224])
        print(full.printout)
        print("\nVGG-11 has \(groupDigits(full.totalParameters)) parameters and needs \(formatFlops(full.totalFlops))FLOPs per 224×224 image.\n")
        let small = vggSmallArchitecture.map { "(\($0.convs), \($0.channels))" }.joined(separator: ", ")
        Narration.say("""
        That is too much to train on Fashion-MNIST, so the book divides every block's channels by \
        4: (\(small)). The fully connected head keeps its 4096 units. Its shapes at 224×224:
        """)
        Random.seed(run.seed)
        let small224 = try vgg(vggSmallArchitecture).layerSummary(inputShape: [1, 1, 224, 224])
        print(small224.printout)
        print("\nAt 224×224 the small VGG has \(groupDigits(small224.totalParameters)) parameters and needs \(formatFlops(small224.totalFlops))FLOPs per image.\n")
        let side = run.config.resize
        Random.seed(run.seed)
        let (net, summary) = try run.summarise("the small VGG", side: side, batch: run.config.batchSize) { vgg(vggSmallArchitecture) }
        if side != 224 {
            print("The small VGG at \(side)×\(side), the size this run trains on:")
            print(summary.printout)
        }
        print()
        print(summary.table)
        let linear = summary.rows.filter { $0.typeName == "Linear" }.reduce(0) { $0 + $1.parameters }
        print("\n\(groupDigits(summary.totalParameters)) parameters, \(formatFlops(summary.totalFlops))FLOPs per \(side)×\(side) image; "
              + String(format: "the fully connected layers hold %.1f%% of the parameters.\n",
                       100 * Double(linear) / Double(max(summary.totalParameters, 1))))
        run.metrics.results["parameters"] = .number(Double(summary.totalParameters))
        run.metrics.results["vgg11_parameters"] = .number(Double(full.totalParameters))
        run.metrics.results["forward_flops_per_image"] = .number(Double(summary.totalFlops))
        return net
    }

    func train(_ net: Sequential, data: FashionMNIST) throws {
        Narration.section("7.2.3 Training")
        run.announce()
        Random.seed(run.seed)
        net.initialize(.xavierUniform)
        _ = try run.train(net, data: data, title: "Small VGG on Fashion-MNIST")
        print("(the book, zh 2.0.0 on a V100 GPU at 224×224 for 10 epochs: loss 0.178, train acc 0.935, test acc 0.920)\n")
        Narration.section("Pictures")
        Narration.say("The 16 filters of the first 3×3 convolution, and one test image after each of the first three blocks.")
        try run.drawPictures(net: net, stages: [0: "block 1 (16)", 1: "block 2 (32)", 2: "block 3 (64)"],
                             data: data, modelName: "small VGG")
        try run.finish()
    }
}
