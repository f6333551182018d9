import ArgumentParser
import D2L
import Foundation
import Testing
@testable import ChapterKit

/// One settings value per run: the profile, the flags over it and a checkpoint's record resolve
/// once into `RunSettings`, with its mode; its JSON is what metrics.json and checkpoints hold.
@Suite struct RunSettingsTests {
    static let book = TrainConfig(epochs: 10, batchSize: 256, learningRate: 0.05, resize: 96)
    static let quick = TrainConfig(epochs: 2, batchSize: 128, learningRate: 0.05, resize: 28, trainLimit: 40_000, lrDecay: 0.5)

    static func resolve(_ flags: [String], keys: [String] = [""]) throws -> (RunSettings, SavedRun?) {
        let options = try ChapterOptions.parse(flags)
        return try RunSettings.resolve(options, quick: quick, book: book, chapter: "Chapter7_6_ResNet", checkpointKeys: keys, threads: 2)
    }

    @Test func flagsOverrideTheQuickProfileOrTheBook() throws {
        let (quick, _) = try Self.resolve(["--lr", "0.1", "--seed", "7"])
        #expect(quick.profile == "quick" && quick.mode == .train && quick.threads == 2)
        var expected = Self.quick
        expected.learningRate = 0.1
        expected.seed = 7
        #expect(quick.train == expected)
        let (full, _) = try Self.resolve(["--full", "--epochs", "3"])
        #expect(full.profile == "full")
        #expect(full.train == TrainConfig(epochs: 3, batchSize: 256, learningRate: 0.05, resize: 96))
        #expect(full.train.differences(from: Self.book) == ["3 epochs instead of 10"])
        #expect(try Self.resolve(["--summary-only"]).0.mode == .summaryOnly)
    }

    @Test func aScheduleLongerThanTheRunIsRefused() {
        #expect(throws: ValidationError.self) { _ = try Self.resolve(["--lr-warmup", "0.6"]) }   // + the quick profile's decay 0.5
    }

    /// The flat JSON of metrics.json and a checkpoint's `settings`, and back.
    @Test func jsonIsFlatAndRoundTrips() throws {
        let (settings, _) = try Self.resolve(["--batch-size", "64"])
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let text = String(decoding: try encoder.encode(settings), as: UTF8.self)
        #expect(text == #"{"batch_size":64,"divergence_factor":3,"epochs":2,"lr":0.05000000074505806,"lr_decay":0.5,"lr_warmup":0,"mode":"train","profile":"quick","resize":28,"seed":0,"test_limit":null,"threads":2,"train_limit":40000}"#)
        #expect(try JSONDecoder().decode(RunSettings.self, from: Data(text.utf8)) == settings)
        // A record without the newer keys (profile, mode, schedule) still reads.
        let old = try JSONDecoder().decode(RunSettings.self, from: Data(#"{"batch_size":64,"epochs":2,"lr":0.1,"resize":28,"seed":3}"#.utf8))
        #expect(old.profile == "resumed" && old.mode == .train && old.train.lrDecay == 0 && old.train.trainLimit == nil && old.train.seed == 3)
    }

    /// --resume takes every setting from the checkpoint, read once; --epochs may extend the run.
    @Test func resumeTakesTheRecordedSettings() throws {
        let dir = NSTemporaryDirectory() + "run-settings-\(getpid())"
        try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: dir) }
        var recorded = RunSettings(profile: "full", mode: .train, train: Self.book, threads: 8)
        recorded.train.seed = 5
        var progress = TrainingProgress()
        progress.shuffleState = ["1", "2", "3", "4"]; progress.randomState = ["5", "6", "7", "8"]
        let net = Sequential(Linear(2))
        _ = try net(Tensor.zeros([1, 3]))
        let file = dir + "/model.safetensors"
        try net.saveSafetensors(to: file, metadata: ChapterCheckpoint.metadata(chapter: "Chapter7_6_ResNet", network: "n",
                                                                              settings: recorded, progress: progress))
        let (resumed, saved) = try Self.resolve(["--resume", file, "--epochs", "12"])
        #expect(resumed.mode == .resume && resumed.profile == "full" && resumed.threads == 2)
        var expected = Self.book
        expected.seed = 5
        expected.epochs = 12
        #expect(resumed.train == expected)
        #expect(try saved?.progress(key: "") == progress)

        #expect(throws: CheckpointUseError.self) {
            try RunSettings.resolve(try ChapterOptions.parse(["--resume", file]), quick: Self.quick, book: Self.book,
                                    chapter: "Chapter7_3_NiN", checkpointKeys: [""], threads: 2)
        }
        // --load takes the image size the file was trained at.
        let (loaded, _) = try Self.resolve(["--load", file])
        #expect(loaded.mode == .train && loaded.train.resize == 96 && loaded.train.epochs == Self.quick.epochs)
        #expect(try Self.resolve(["--load", file, "--eval-only"]).0.mode == .evalOnly)
        // With two networks, --load needs both files.
        #expect(throws: CheckpointUseError.self) { try Self.resolve(["--load", dir + "/model.safetensors"], keys: ["", "other"]) }
    }
}
