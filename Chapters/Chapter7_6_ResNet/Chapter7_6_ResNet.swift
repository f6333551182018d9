import ArgumentParser
import ChapterKit
import D2L
import Foundation
import Models

/// D2L zh 7.6 / en 8.6, "Residual Networks (ResNet)", as a narrated program.
@main
struct ResNetChapter: Chapter {
    static let configuration = CommandConfiguration(
        commandName: "Chapter7_6_ResNet",
        abstract: "Residual networks: nested function classes, residual blocks, ResNet-18 trained on Fashion-MNIST.",
        discussion: """
        Shows the residual block on sample inputs, prints ResNet-18's shapes as the book does, trains it on
        Fashion-MNIST and writes filters.png, feature-maps.png, training-curves.png and metrics.json.
        """)
    static let section = "7.6"

    /// zh 2.0.0: lr 0.05, batch 256, 10 epochs, 96×96, Xavier.
    static let book = TrainConfig(epochs: 10, batchSize: 256, learningRate: 0.05, resize: 96)
    /// Quick default (about 4.5 minutes on 2 cores): the original 28×28 images (1/12 of the
    /// arithmetic of 96×96), batch 128 (twice the SGD steps per image), 2 epochs over the
    /// first 40,000 training images, the learning rate falling to 0 over the second epoch (at a
    /// constant rate batch norm's evaluation-mode accuracy swings from epoch to epoch, as in the
    /// book's runs, and a two-epoch run would end wherever the swing is).
    static let quick = TrainConfig(epochs: 2, batchSize: 128, learningRate: 0.05, resize: 28, trainLimit: 40_000, lrDecay: 0.5)

    let run: ChapterRun

    func tell() throws {
        Narration.section("7.6 Residual Networks (ResNet)")
        Narration.say("""
        Adding layers should never make a network worse, yet in practice deeper plain networks often \
        train to a higher error. Think of the functions an architecture can represent as a class F. If a \
        bigger architecture's class F′ contains F (nested classes), the best function in F′ is at least \
        as good; if it does not, the bigger network may end up farther from the truth. He et al. (2016) \
        made the classes nested by letting every new block represent the identity f(x) = x easily.
        """)
        try residualBlockDemo()
        let net = try modelSummary()
        if run.mode == .summaryOnly { return }
        let data = try run.loadData()
        try train(net, data: data)
    }

    func residualBlockDemo() throws {
        Narration.section("7.6.2 Residual blocks")
        Narration.say("""
        Instead of learning a mapping f(x) directly, a residual block learns g(x) = f(x) − x and adds \
        the input back: output = ReLU(x + g(x)). If the identity is what is needed, driving g's weights \
        to zero suffices. Here g is two 3×3 convolutions, each followed by batch normalization, with a \
        ReLU between them. When the block halves the size or changes the channel count, a 1×1 \
        convolution with the same stride reshapes the shortcut so the two can be added.
        """)
        Random.seed(run.seed)
        var g = SeededGenerator(seed: run.seed &+ 11)
        let x = Tensor(shape: [4, 3, 6, 6], data: (0..<(4 * 3 * 36)).map { _ in g.nextUnit() })
        let same = Residual(3)
        let y = try GradMode.withoutGrad { try same(x) }
        print("Residual(3) on X of shape \(x.shape.shapeDescription) gives \(y.shape.shapeDescription)")
        let down = Residual(6, use1x1Conv: true, strides: 2)
        let z = try GradMode.withoutGrad { try down(x) }
        print("Residual(6, use1x1Conv: true, strides: 2) on the same X gives \(z.shape.shapeDescription)\n")
        run.metrics.results["residual_demo_shapes"] = .array([y.shape, z.shape].map { .array($0.map { .number(Double($0)) }) })
    }

    func modelSummary() throws -> Sequential {
        Narration.section("7.6.3 The ResNet model")
        Narration.say("""
        The first stage is GoogLeNet's: a 7×7 convolution with 64 channels and stride 2, batch \
        normalization, ReLU and a 3×3 max-pooling with stride 2. Then four stages of two residual blocks \
        each with 64, 128, 256 and 512 channels; every stage but the first halves height and width in its \
        first block. Global average pooling and a fully connected layer finish the network. With the \
        stem's convolution and the final layer, that is 18 layers with weights: ResNet-18. On the book's \
        224×224 sample input:
        """)
        let net = try run.presentNetwork("ResNet-18", bookSide: 224) { resNet18() }.net
        print()
        return net
    }

    func train(_ net: Sequential, data: FashionMNIST) throws {
        Narration.section("7.6.4 Training")
        run.announce()
        Random.seed(run.seed)
        net.initialize(.xavierUniform)
        _ = try run.train(net, data: data, title: "ResNet-18 on Fashion-MNIST")
        print("(the book, zh 2.0.0 on a V100 GPU at 96×96 for 10 epochs: loss 0.012, train acc 0.997, test acc 0.893)\n")
        Narration.say("""
        The training accuracy of ResNet-18 climbs far above its test accuracy when trained long: with 11 \
        million parameters for 60,000 small images it over-fits, as the book's run shows.
        """)
        Narration.section("Pictures")
        Narration.say("The 64 filters of the 7×7 stem convolution, and one test image after the stem and after each stage.")
        try run.drawPictures(net: net, stages: [0: "stem", 1: "stage 1 (64)", 2: "stage 2 (128)", 3: "stage 3 (256)", 4: "stage 4 (512)"],
                             data: data, modelName: "ResNet-18")
        try run.finish()
    }
}
