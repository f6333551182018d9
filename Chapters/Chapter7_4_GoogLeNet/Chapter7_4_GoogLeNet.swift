import ArgumentParser
import ChapterKit
import D2L
import Foundation
import Models

/// D2L zh 7.4 / en 8.4, "Multi-Branch Networks (GoogLeNet)", as a narrated program.
@main
struct GoogLeNetChapter: Chapter {
    static let configuration = CommandConfiguration(
        commandName: "Chapter7_4_GoogLeNet",
        abstract: "GoogLeNet: Inception blocks with parallel paths of different kernel sizes, trained on Fashion-MNIST.",
        discussion: """
        Shows an Inception block, prints GoogLeNet's shapes as the book does, trains it on Fashion-MNIST and
        writes filters.png, feature-maps.png, training-curves.png and metrics.json.
        """)
    static let section = "7.4"

    /// zh 2.0.0: lr 0.1, batch 128, 10 epochs, 96×96, Xavier.
    static let book = TrainConfig(epochs: 10, batchSize: 128, learningRate: 0.1, resize: 96)
    /// Quick default (about 5 minutes on 2 cores): the original 28×28 images (GoogLeNet's global
    /// pooling takes any size; 1/12 of the arithmetic of 96×96), batch 64 (twice the steps per
    /// image), 2 epochs over the first 32,000 training images (a margin below the 5 minutes,
    /// since a shared machine's speed drifts).
    static let quick = TrainConfig(epochs: 2, batchSize: 64, learningRate: 0.1, resize: 28, trainLimit: 32_000)

    let run: ChapterRun

    func tell() throws {
        Narration.section("7.4 Multi-Branch Networks (GoogLeNet)")
        Narration.say("""
        Which convolution size is best: 1×1, 3×3 or 5×5? Szegedy et al. (2015) did not choose. Their \
        Inception block runs several sizes side by side on the same input and concatenates the \
        results, letting training decide how much each path contributes. Cheap 1×1 convolutions in \
        front of the expensive paths shrink the channels first, which keeps the cost in check.
        """)
        try blockDemo()
        let net = try modelSummary()
        if run.mode == .summaryOnly { return }
        let data = try run.loadData()
        try train(net, data: data)
    }

    func blockDemo() throws {
        Narration.section("7.4.1 Inception blocks")
        Narration.say("""
        Four paths: a 1×1 convolution; 1×1 then 3×3; 1×1 then 5×5; 3×3 max pooling then 1×1. All \
        keep height and width (padding), each convolution is followed by ReLU, and the outputs are \
        concatenated along channels. The first block of stage 3, Inception(64, (96, 128), (16, 32), 32), \
        outputs 64 + 128 + 32 + 32 = 256 channels.
        """)
        Random.seed(run.seed)
        let block = Inception(64, (96, 128), (16, 32), 32)
        let x = Tensor.zeros([1, 192, 12, 12])
        let y = try GradMode.withoutGrad { try block(x) }
        let params = block.parameters.reduce(0) { $0 + $1.count }
        print("Inception(64, (96, 128), (16, 32), 32) on X of shape \(x.shape.shapeDescription) gives \(y.shape.shapeDescription), with \(groupDigits(params)) parameters\n")
        run.metrics.results["block_demo_shape"] = .array(y.shape.map { .number(Double($0)) })
    }

    func modelSummary() throws -> Sequential {
        Narration.section("7.4.2 The GoogLeNet model")
        Narration.say("""
        Five stages: b1 is a 7×7 convolution and max pooling, b2 a 1×1 and a 3×3 convolution and max \
        pooling, b3 two Inception blocks, b4 five, b5 two followed by global average pooling; then a \
        linear layer. Each stage but the last ends in 3×3 max pooling with stride 2. The book trains \
        it on 96×96 images; its shapes, one line per stage:
        """)
        let net = try run.presentNetwork("GoogLeNet", bookSide: 96) { googLeNet() }.net
        print()
        return net
    }

    func train(_ net: Sequential, data: FashionMNIST) throws {
        Narration.section("7.4.3 Training")
        Narration.say("""
        Without batch normalization (it came later, section 7.5), this 22-layer network starts slowly \
        and lr 0.1 is at the edge: one of the twelve published builds of the book's notebook \
        (d2l-zh 2.0.0-alpha2 to 2.0.0, same code, found in the git history of its Colab repository) \
        ended with `loss nan`. If the loss stops being a number, training stops and says so.
        """)
        run.announce()
        Random.seed(run.seed)
        net.initialize(.xavierUniform)
        _ = try run.train(net, data: data, title: "GoogLeNet on Fashion-MNIST")
        print("(the book, zh 2.0.0 on a V100 GPU at 96×96 for 10 epochs: loss 0.262, train acc 0.900, test acc 0.886)\n")
        Narration.section("Pictures")
        Narration.say("The 64 filters of the 7×7 convolution in b1, and one test image after b1, b2 and b3.")
        try run.drawPictures(net: net, stages: [0: "b1 (64)", 1: "b2 (192)", 2: "b3 (480)"],
                             data: data, modelName: "GoogLeNet")
        try run.finish()
    }
}
