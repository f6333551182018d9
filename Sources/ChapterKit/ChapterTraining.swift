import ArgumentParser
import D2L
import Foundation

/// The parts of a chapter that train a network and draw it: the settings line, training with
/// metrics and curves written after every epoch, the book's result lines, and pictures.
extension ChapterRun {
    /// Prints the training settings and, honestly, how they differ from the book.
    public func announce(initialisation: String = "Xavier initialisation") {
        let c = config
        print("Training with lr \(c.learningRate), batch size \(c.batchSize), \(c.epochs) epoch\(c.epochs == 1 ? "" : "s"), "
              + "\(c.resize)×\(c.resize) images, \(initialisation), \(c.optimizerDescription) (\(settings.profile) profile).")
        let trimmed = c.differences(from: book)
        if trimmed.isEmpty {
            print("These are the book's settings (\(bookEdition)).\n")
        } else {
            print("Differs from the book: \(trimmed.joined(separator: "; ")). `--full` runs the book's settings.\n")
        }
    }

    /// Trains `net`, writing metrics.json, training-curves.png and a checkpoint after every
    /// epoch so an interrupted or diverged run keeps what it finished; then prints the book's
    /// result lines. Honours `--load` (start from saved weights), `--eval-only` (evaluate them,
    /// no training) and `--resume` (continue a saved run where it stopped).
    /// - Parameters:
    ///   - key: the run's name in metrics.json and its checkpoint file (and the curve label when `earlier` is not empty).
    ///   - earlier: finished runs to draw in the same training-curves.png.
    ///   - labelled: print `key` in front of the progress and epoch lines (when a chapter trains several nets).
    ///   - stateDictPrefix: the prefix of the book's `state_dict` names that our module tree lacks (`net.` for en 1.0 models).
    @discardableResult
    public func train(_ net: Module, data: FashionMNIST, title: String, key: String = "", labelled: Bool = false,
                      earlier: [(name: String, history: [EpochMetrics])] = [], stateDictPrefix: String = "") throws -> Trainer {
        let trainer = Trainer(net: net, data: data, config: config, label: labelled ? key : "")
        try trainer.materialise()
        var resumeFrom: TrainingProgress?
        if mode == .resume {
            if savedRun?.files[key] != nil {
                let progress = try savedRun!.progress(key: key)
                let file = try loadSavedWeights(net, key: key, prefix: stateDictPrefix)!
                resumeFrom = progress
                print("Resuming from \(file): \(progress.history.count) finished epoch\(progress.history.count == 1 ? "" : "s")"
                      + (progress.batchesDone > 0 ? ", \(progress.batchesDone) batches into epoch \(progress.epoch)." : "."))
            } else {
                print("No checkpoint \(ChapterCheckpoint.file(options.resume!, key: key)) yet: \(key.isEmpty ? "this network" : key) trains from the start.")
            }
        } else if try loadSavedWeights(net, key: key, prefix: stateDictPrefix) == nil && mode == .evalOnly {
            return trainer   // a shared file without this network's weights: nothing to evaluate
        }
        let historyKey = key.isEmpty ? "history" : "history_" + key
        if mode == .evalOnly {
            let resize = BilinearResize(from: data.test.height, to: config.resize)
            let accuracy = try evaluateAccuracy(net, on: data.test, batchSize: Swift.max(config.batchSize, 256), resize: resize)
            print(String(format: "test acc %.3f", accuracy) + " (\(groupDigits(data.test.count)) test images, loaded weights, no training)")
            metrics.results[key.isEmpty ? "test_acc" : "test_acc_" + key] = .number(accuracy)
            try writeMetrics(status: "evaluated")
            return trainer
        }
        let network = key.isEmpty ? title : key
        func record() throws {
            metrics.epochs = trainer.history
            metrics.examplesPerSec = trainer.examplesPerSec
            metrics.results[historyKey] = .array(trainer.history.map(\.json))
            try trainingCurves(earlier + [(name: key, history: trainer.history)], title: title)
                .writePNG(to: path("training-curves.png"))
            try writeMetrics()
        }
        do {
            try trainer.fit(resumeFrom: resumeFrom) { _ in
                try saveCheckpoint(net, key: key, network: network, prefix: stateDictPrefix, progress: trainer.progress)
                try record()
            }
            if !trainer.history.isEmpty { try record() }
        } catch let e as DivergenceError {
            try? writeMetrics(status: "diverged")
            if let last = savedCheckpoints.last { print("The last finished epoch's weights stay in \(last).") }
            throw e
        } catch let e as InterruptedError {
            // Keep what was done: finished epochs are in metrics.json and the curves already;
            // the weights after the last completed batch go to the checkpoint.
            try? writeMetrics(status: "interrupted")
            var kept = "Finished epochs are kept in \(path("metrics.json")) and \(path("training-curves.png"))"
            do {
                try saveCheckpoint(net, key: key, network: network, prefix: stateDictPrefix, progress: trainer.progress)
                kept += "; the weights after that batch are in \(saveFile(key: key)). Continue with --resume \(saveBase)"
            } catch {
                kept += "; saving the weights failed: \(error)"
            }
            FileHandle.standardError.write(Data("\(e). \(kept).\n".utf8))
            throw ExitCode(e.exitCode)
        }
        print(trainer.resultLines)
        show("training-curves.png")
        return trainer
    }

    /// Finishes the run: marks metrics.json finished and lists what was written.
    /// Only files this run wrote are listed (with --eval-only there are no curves), then the checkpoints.
    public func finish(files: [String] = ChapterRun.pictureFiles + ["training-curves.png", "metrics.json"]) throws {
        let status = mode == .evalOnly ? "evaluated" : "finished"
        try writeMetrics(status: status)
        Narration.section("Files")
        for file in files where wroteThisRun(file) { print("wrote \(path(file))") }
        for file in savedCheckpoints { print("wrote \(file)") }
        if transcript != nil { print("wrote \(path("report.html"))") }
        print(String(format: "\ntotal wall time %.1f s", wallSeconds))
        try writeReport(status: status)
    }
}

extension EpochMetrics {
    /// The epoch as a JSON object (for histories inside `results`).
    public var json: JSONValue {
        .object(["epoch": .number(Double(epoch)), "loss": .number(loss), "train_acc": .number(trainAcc),
                 "test_acc": .number(testAcc), "train_seconds": .number(trainSeconds)])
    }
}
