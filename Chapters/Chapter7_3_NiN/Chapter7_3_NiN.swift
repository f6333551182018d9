import ArgumentParser
import ChapterKit
import D2L
import Foundation
import Models

/// D2L zh 7.3 / en 8.3, "Network in Network (NiN)", as a narrated program.
@main
struct NiNChapter: Chapter {
    static let configuration = CommandConfiguration(
        commandName: "Chapter7_3_NiN",
        abstract: "NiN: 1×1 convolutions as per-pixel MLPs and global average pooling instead of dense layers.",
        discussion: """
        Shows a NiN block, prints NiN's shapes as the book does, trains it on Fashion-MNIST and writes
        filters.png, feature-maps.png, training-curves.png and metrics.json.
        """)
    static let section = "7.3"

    /// zh 2.0.0: lr 0.1, batch 128, 10 epochs, 224×224, Xavier.
    static let book = TrainConfig(epochs: 10, batchSize: 128, learningRate: 0.1, resize: 224)
    /// Quick default (about 4 minutes on 2 cores): 67×67 images, the smallest NiN accepts;
    /// batch 16 with the book's lr 0.1, one epoch of the first 50,000 images. NiN leaves its
    /// initial plateau after a number of steps, not of images, and a CPU trains it at about the
    /// same images per second from batch 16 to 64, so small batches buy steps for free. At this
    /// budget the result depends on the seed (the narration says so, and checks before training
    /// whether the initialisation left the last block dead).
    static let quick = TrainConfig(epochs: 1, batchSize: 16, learningRate: 0.1, resize: 67, trainLimit: 50_000)

    let run: ChapterRun

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
        if run.mode == .summaryOnly { return }
        let data = try run.loadData()
        try train(net, data: data)
    }

    func blockDemo() throws {
        Narration.section("7.3.1 NiN blocks")
        Narration.say("""
        `ninBlock(channels:kernel:stride:padding:)` is a convolution of the given size followed by \
        two 1×1 convolutions, each followed by ReLU.
        """)
        Random.seed(run.seed)
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
        let net = try run.presentNetwork("NiN", bookSide: 224, note: " (AlexNet has 46,764,746)") { nin() }.net
        print()
        return net
    }

    /// Warns before training when the initialisation left the last block's first ReLUs off
    /// for every one of the first training images (see `ninLastBlockIsDead`). Runs that
    /// start from saved weights (--load, --resume) are not checked.
    func checkLastBlock(_ net: Sequential, data: FashionMNIST) throws {
        guard !run.startsFromSavedWeights else { return }
        let count = Swift.min(256, data.train.count)
        let resize = BilinearResize(from: data.train.height, to: run.config.resize)
        let images = data.train.batch(data.train.batches(size: count)[0], resize: resize).images
        let dead = try ninLastBlockIsDead(net, images: images)
        run.metrics.results["last_block_dead_at_start"] = .bool(dead)
        guard dead else { return }
        let side = run.config.resize
        Narration.say("""
        Warning: with this initialisation (--seed \(run.seed)) the last block's first layer outputs 0 \
        for all of the first \(count) training images at \(side)×\(side): every one of its ReLUs is off, so \
        no gradient reaches the layers before it and the loss will stay at ln 10 = 2.303. At small \
        sizes this block sees very few pixels (one at 67×67), so its ReLUs hang on a few biases. \
        Another --seed starts elsewhere; Ctrl-C stops this run.
        """)
    }

    func train(_ net: Sequential, data: FashionMNIST) throws {
        Narration.section("7.3.3 Training")
        Narration.say("""
        NiN is the least stable network of the chapter: the fourteen published builds of the book's notebook \
        (d2l-zh 2.0.0-alpha2 to 2.0.0, identical code, from the git history of its Colab repository) ended \
        anywhere between 0.38 and 0.88 test accuracy, and it can sit at chance (loss 2.303) for a \
        while before it starts to learn. Its scores come out of ReLUs in a last block of only 10 \
        channels, so once those ReLUs are all off for every image no gradient flows and training \
        stops for good; with a short budget, the result depends on the seed.
        """)
        run.announce()
        Random.seed(run.seed)
        net.initialize(.xavierUniform)
        try checkLastBlock(net, data: data)
        _ = try run.train(net, data: data, title: "NiN on Fashion-MNIST")
        print("(the book, zh 2.0.0 on a V100 GPU at 224×224 for 10 epochs: loss 0.563, train acc 0.786, test acc 0.790)\n")
        Narration.section("Pictures")
        Narration.say("The 96 filters of the first 11×11 convolution, and one test image after the first three NiN blocks.")
        try run.drawPictures(net: net, stages: [0: "NiN block 1 (96)", 2: "NiN block 2 (256)", 4: "NiN block 3 (384)"],
                             data: data, modelName: "NiN")
        try run.finish()
    }
}
