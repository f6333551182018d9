import ArgumentParser
import ChapterKit
import D2L
import Foundation
import Models

/// D2L zh 7.7 / en 8.7, "Densely Connected Networks (DenseNet)", as a narrated program.
@main
struct DenseNetChapter: Chapter {
    static let configuration = CommandConfiguration(
        commandName: "Chapter7_7_DenseNet",
        abstract: "DenseNet: dense blocks that concatenate, transition layers that shrink, trained on Fashion-MNIST.",
        discussion: """
        Shows a dense block and a transition layer on sample inputs, prints DenseNet's shapes, trains it on
        Fashion-MNIST and writes filters.png, feature-maps.png, training-curves.png and metrics.json.
        """)
    static let section = "7.7"

    /// zh 2.0.0: lr 0.1, batch 256, 10 epochs, 96×96, Xavier.
    static let book = TrainConfig(epochs: 10, batchSize: 256, learningRate: 0.1, resize: 96)
    /// Quick default (about 4.5 minutes on 2 cores): 32×32 images (the smallest power of two that
    /// survives the stem and three halving transitions; 28×28 shrinks to 1×1 before the last
    /// one), batch 64 (four times the book's SGD steps per image) with the book's lr 0.1, 2 epochs
    /// over the first 36,000 training images, the learning rate falling to 0 over the second
    /// epoch (a constant rate, a smaller one or a larger batch each ended lower).
    static let quick = TrainConfig(epochs: 2, batchSize: 64, learningRate: 0.1, resize: 32, trainLimit: 36_000, lrDecay: 0.5)

    let run: ChapterRun

    func tell() throws {
        Narration.section("7.7 Densely Connected Networks (DenseNet)")
        Narration.say("""
        ResNet splits a function into a simple term and the rest: f(x) = x + g(x). DenseNet (Huang et \
        al., 2017) keeps every term instead of adding them: each layer receives the concatenation of \
        all earlier outputs in its block, x → [x, f₁(x), f₂([x, f₁(x)]), …], so features computed \
        early are reused directly by every later layer.
        """)
        try blockDemo()
        let net = try modelSummary()
        if run.mode == .summaryOnly { return }
        let data = try run.loadData()
        try train(net, data: data)
    }

    func blockDemo() throws {
        Narration.section("7.7.2 Dense blocks and 7.7.3 transition layers")
        Narration.say("""
        A dense block is a series of convolution blocks (batch normalization, ReLU, 3×3 convolution), \
        each adding `growth` channels that are concatenated onto its input. The channel count keeps \
        growing, so transition layers (batch normalization, ReLU, 1×1 convolution, 2×2 average pooling \
        with stride 2) cut both the channels and the height and width.
        """)
        Random.seed(run.seed)
        var g = SeededGenerator(seed: run.seed &+ 13)
        let x = Tensor(shape: [4, 3, 8, 8], data: (0..<(4 * 3 * 64)).map { _ in g.normal() })
        let block = DenseBlock(2, growth: 10)
        let y = try GradMode.withoutGrad { try block(x) }
        print("DenseBlock(2 convolutions, growth 10) on X of shape \(x.shape.shapeDescription) gives \(y.shape.shapeDescription): 3 + 2·10 channels")
        let transition = transitionBlock(10)
        let z = try GradMode.withoutGrad { try transition(y) }
        print("transitionBlock(10) on that gives \(z.shape.shapeDescription)\n")
        run.metrics.results["dense_demo_shapes"] = .array([y.shape, z.shape].map { .array($0.map { .number(Double($0)) }) })
    }

    func modelSummary() throws -> Sequential {
        Narration.section("7.7.4 The DenseNet model")
        Narration.say("""
        The stem is ResNet's. Then four dense blocks of four convolutions with growth rate 32, so each \
        block adds 128 channels, with a transition layer halving the channels between blocks; batch \
        normalization, ReLU, global average pooling and a linear layer finish it. The book prints no \
        layer-by-layer shapes for DenseNet; here they are at 96×96, the size it trains on:
        """)
        let net = try run.presentNetwork("DenseNet", bookSide: 96, note: " (ResNet-18 has 11,178,378)") { denseNet() }.net
        print()
        return net
    }

    func train(_ net: Sequential, data: FashionMNIST) throws {
        Narration.section("7.7.5 Training")
        run.announce()
        Random.seed(run.seed)
        net.initialize(.xavierUniform)
        _ = try run.train(net, data: data, title: "DenseNet on Fashion-MNIST")
        print("(the book, zh 2.0.0 on a V100 GPU at 96×96 for 10 epochs: loss 0.140, train acc 0.948, test acc 0.885)\n")
        Narration.section("Pictures")
        Narration.say("The 64 filters of the 7×7 stem convolution, and one test image after the stem, each dense block and each transition.")
        var names: [Int: String] = [0: "stem"]
        var denseBlocks: Set<Int> = []
        for (i, layer) in net.layers.enumerated() where i > 0 {
            if layer is DenseBlock { denseBlocks.insert(i); names[i] = "dense block \(denseBlocks.count)" }
            else if layer is Sequential { names[i] = "transition \(denseBlocks.count)" }
        }
        // A dense block's output starts with its input: its rows show the channels it added.
        try run.drawPictures(net: net, stages: names, data: data, modelName: "DenseNet",
                             newestChannels: denseBlocks)
        try run.finish()
    }
}
