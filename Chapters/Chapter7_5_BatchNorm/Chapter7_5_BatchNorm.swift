import ArgumentParser
import D2L
import Foundation
import Models

/// D2L zh 7.5 / en 8.5, "Batch Normalization", as a narrated program.
@main
struct Chapter7_5_BatchNorm: ChapterCommand {
    static let configuration = CommandConfiguration(
        commandName: "Chapter7_5_BatchNorm",
        abstract: "Batch normalization: from scratch with autograd, then the fused layer, compared number by number.",
        discussion: """
        Trains LeNet with the book's from-scratch BatchNorm and with the core's fused BatchNorm on
        Fashion-MNIST, prints the book's result lines, compares the two implementations value by value,
        and writes filters.png, feature-maps.png, training-curves.png and metrics.json to the out dir.
        """)

    @OptionGroup var options: ChapterOptions

    /// zh 2.0.0: lr 1.0, batch 256, 10 epochs, 28×28, Xavier.
    static let book = Profile(epochs: 10, batchSize: 256, lr: 1.0, resize: 28)
    /// Quick default: fewer epochs, everything else as the book.
    static let quick = Profile(epochs: 3, batchSize: 256, lr: 1.0, resize: 28)
    /// Two networks, two checkpoints: model-scratch.safetensors and model-concise.safetensors.
    static let checkpointKeys = ["scratch", "concise"]

    func tell(_ run: ChapterRun, _ settings: ResolvedSettings) throws {
        try BatchNormChapter(run: run, settings: settings).tell()
    }
}
