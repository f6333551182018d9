import ArgumentParser
import ChapterKit
import D2L
import Foundation
import Models

/// D2L zh 7.1 / en 8.1, "Deep Convolutional Neural Networks (AlexNet)", as a narrated program.
@main
struct AlexNetChapter: Chapter {
    static let configuration = CommandConfiguration(
        commandName: "Chapter7_1_AlexNet",
        abstract: "AlexNet: learned features instead of hand-made ones, trained on Fashion-MNIST.",
        discussion: """
        Prints AlexNet's shapes as the book does, trains it on Fashion-MNIST and writes filters.png (its 96
        11×11 first-layer filters), feature-maps.png, training-curves.png and metrics.json.
        """)
    static let section = "7.1"

    /// zh 2.0.0: lr 0.01, batch 128, 10 epochs, 224×224, Xavier.
    static let book = TrainConfig(epochs: 10, batchSize: 128, learningRate: 0.01, resize: 224)
    /// Quick default (about 4.5 minutes on 2 cores): 67×67 images (AlexNet needs at least 65),
    /// batch 64 and a tenfold learning rate to leave the initial plateau early, one pass over
    /// the first 40,000 training images.
    static let quick = TrainConfig(epochs: 1, batchSize: 64, learningRate: 0.1, resize: 67, trainLimit: 40_000)

    let run: ChapterRun

    func tell() throws {
        Narration.section("7.1 Deep Convolutional Neural Networks (AlexNet)")
        Narration.section("7.1.1 Learning representations")
        Narration.say("""
        Before 2012, computer vision pipelines fed hand-made features (SIFT, SURF, HOG) to a simple \
        classifier, and the features mattered more than the learning algorithm. AlexNet (Krizhevsky, \
        Sutskever and Hinton, 2012) learned the features instead, end to end from pixels, and won \
        ImageNet by a wide margin. Two things that had been missing made it possible: data (ImageNet's \
        1.2 million labelled images) and hardware (two GPUs with 3 GB each, which did the convolutions' \
        many multiply-adds in parallel).
        """)
        Narration.section("7.1.2 AlexNet")
        Narration.say("""
        The design is LeNet's, bigger: eight layers with weights, five convolutional and three fully \
        connected, ReLU instead of the sigmoid (its gradient does not vanish for large inputs), dropout \
        in the fully connected layers, and an 11×11 first convolution with stride 4 for the large \
        ImageNet pictures. The book's version has one input channel for Fashion-MNIST, one tower \
        instead of two, and no local response normalisation.
        """)
        let net = try modelSummary()
        if run.mode == .summaryOnly { return }
        Narration.section("7.1.3 Reading the dataset")
        Narration.say("""
        The book upsamples the 28×28 Fashion-MNIST images to 224×224, the ImageNet size, only so that \
        AlexNet's layers fit; it adds no information and costs 64 times the arithmetic.
        """)
        let data = try run.loadData()
        try train(net, data: data)
    }

    func modelSummary() throws -> Sequential {
        Narration.say("The book's layer-by-layer shapes on one 224×224 image:")
        let (net, _, summary) = try run.presentNetwork("AlexNet", bookSide: 224, afterBookPrintout: { book in
            "\n\(groupDigits(book.totalParameters)) parameters at 224×224, \(formatFlops(book.totalFlops))FLOPs per image."
        }) { alexNet() }
        let linear = summary.rows.filter { $0.typeName == "Linear" }.reduce(0) { $0 + $1.parameters }
        print(String(format: "The three fully connected layers hold %.0f%% of the parameters.", 100 * Double(linear) / Double(max(summary.totalParameters, 1))))
        if run.config.resize != 224, let flat = summary.rows.first(where: { $0.typeName == "Flatten" })?.outputShape.last {
            print("(At \(run.config.resize)×\(run.config.resize) the first fully connected layer sees \(flat) features instead of 6400, hence fewer parameters.)")
        }
        print()
        return net
    }

    func train(_ net: Sequential, data: FashionMNIST) throws {
        Narration.section("7.1.4 Training AlexNet")
        run.announce()
        Random.seed(run.seed)
        net.initialize(.xavierUniform)
        _ = try run.train(net, data: data, title: "AlexNet on Fashion-MNIST")
        print("(the book, zh 2.0.0 on a V100 GPU at 224×224 for 10 epochs: loss 0.331, train acc 0.878, test acc 0.883)\n")
        Narration.section("Pictures")
        Narration.say("""
        The 96 learned 11×11 filters of the first convolution (the classic AlexNet picture: on \
        ImageNet they become edge, stripe and colour-blob detectors), and one test image after the \
        first, second and fifth convolution with their ReLUs.
        """)
        try run.drawPictures(net: net, stages: [1: "conv 1 + ReLU", 4: "conv 2 + ReLU", 11: "conv 5 + ReLU"],
                             data: data, modelName: "AlexNet")
        try run.finish()
    }
}
