import ArgumentParser
import D2L
import Foundation
import Models

/// D2L zh 7.3 / en 8.3, "Network in Network (NiN)", as a narrated program.
@main
struct Chapter7_3_NiN: ChapterCommand {
    static let configuration = CommandConfiguration(
        commandName: "Chapter7_3_NiN",
        abstract: "NiN: 1×1 convolutions as per-pixel MLPs and global average pooling instead of dense layers.",
        discussion: """
        Shows a NiN block, prints NiN's shapes as the book does, trains it on Fashion-MNIST and writes
        filters.png, feature-maps.png, training-curves.png and metrics.json.
        """)

    @OptionGroup var options: ChapterOptions

    /// zh 2.0.0: lr 0.1, batch 128, 10 epochs, 224×224, Xavier.
    static let book = Profile(epochs: 10, batchSize: 128, lr: 0.1, resize: 224)
    /// Quick default (about 4.7 minutes on 2 cores): 67×67 images, the smallest NiN accepts;
    /// batch 32 with the book's lr 0.1 (four times the book's steps per image: NiN leaves its
    /// initial plateau after a number of steps, not of images), one epoch. Measured here: test
    /// acc 0.697 in 285 s; the same recipe gave 0.655 before changes that only reorder float
    /// additions, so NiN's result at this budget moves by ±0.04 with rounding. (Batch 16 with
    /// lr 0.05: 0.663 in 302–325 s; a learning rate falling to 0 over the second half: 0.695.)
    static let quick = Profile(epochs: 1, batchSize: 32, lr: 0.1, resize: 67)

    func tell(_ run: ChapterRun, _ settings: ResolvedSettings) throws {
        try NiNChapter(run: run, settings: settings).tell()
    }
}

struct NiNChapter {
    let run: ChapterRun
    let settings: ResolvedSettings

    func tell() throws {
        Narration.section("7.3 Network in Network (NiN)")
        Narration.say("""
        AlexNet and VGG end in fully connected layers with tens of millions of parameters, and using \
        them earlier would destroy the spatial structure. Lin, Chen and Yan (2013) used a fully \
        connected layer at every pixel instead: a 1×1 convolution mixes the channels of each pixel \
        separately, so two of them after an ordinary convolution act as a small perceptron per \
        pixel. And they dropped the dense head entirely: the last block has one channel per class, \
        and global average pooling turns each channel into that class's score.
        """)
        try blockDemo()
        let net = try modelSummary()
        if run.options.summaryOnly { return }
        let data = try run.loadData(settings)
        try train(net, data: data)
    }

    func blockDemo() throws {
        Narration.section("7.3.1 NiN blocks")
        Narration.say("""
        `ninBlock(channels:kernel:stride:padding:)` is a convolution of the given size followed by \
        two 1×1 convolutions, each followed by ReLU.
        """)
        Random.seed(settings.seed)
        let block = ninBlock(channels: 96, kernel: 11, stride: 4, padding: 0)
        let x = Tensor.zeros([1, 1, 224, 224])
        let y = try GradMode.withoutGrad { try block(x) }
        let params = block.parameters.reduce(0) { $0 + $1.count }
        print("ninBlock(channels: 96, kernel: 11, stride: 4, padding: 0) on X of shape \(x.shape.shapeDescription) gives \(y.shape.shapeDescription), with \(groupDigits(params)) parameters\n")
        run.metrics.results["block_demo_shape"] = .array(y.shape.map { .number(Double($0)) })
    }

    func modelSummary() throws -> Sequential {
        Narration.section("7.3.2 The NiN model")
        Narration.say("""
        The convolution sizes are AlexNet's (11×11, 5×5, 3×3 with 96, 256 and 384 channels), each in \
        a NiN block and followed by 3×3 max pooling with stride 2; dropout, a last block with 10 \
        channels, global average pooling. The book's shapes on one 224×224 image:
        """)
        let net = try run.presentNetwork("NiN", bookSide: 224, settings: settings, note: " (AlexNet has 46,764,746)") { nin() }.net
        print()
        return net
    }

    func train(_ net: Sequential, data: FashionMNIST) throws {
        Narration.section("7.3.3 Training")
        Narration.say("""
        NiN is the least stable network of the chapter: the book's own runs with identical code ended \
        anywhere between 0.38 and 0.88 test accuracy, and it can sit at chance (loss 2.303) for a \
        while before it starts to learn.
        """)
        run.announce(settings)
        Random.seed(settings.seed)
        net.initialize(.xavierUniform)
        _ = try run.train(net, data: data, settings: settings, title: "NiN on Fashion-MNIST")
        print("(the book, zh 2.0.0 on a V100 GPU at 224×224 for 10 epochs: loss 0.563, train acc 0.786, test acc 0.790)\n")
        Narration.section("Pictures")
        Narration.say("The 96 filters of the first 11×11 convolution, and one test image after the first three NiN blocks.")
        let firstConv = (net.layers[0] as! Sequential).layers[0] as! Conv2d
        try run.drawPictures(net: net, firstConv: firstConv,
                             stageNames: [0: "NiN block 1 (96)", 2: "NiN block 2 (256)", 4: "NiN block 3 (384)"],
                             data: data, settings: settings, modelName: "NiN")
        try run.finish()
    }
}
