import ArgumentParser
import ChapterKit
import D2L
import Experiments
import Foundation
import Models

/// Part 2 of the chapter: sample networks from each design space, train each with the same
/// short budget, and compare the spaces by their error EDFs.
struct DesignSpaceStudyChapter {
    static let plotFile = "design-space-edf.png", logFile = "design-space.jsonl"
    /// The study trains on the original 28×28 images with batch 64 and lr 0.1 and measures the
    /// error on the first 2,000 test images.
    static let side = 28, batchSize = 64, learningRate: Float = 0.1, testImages = 2_000
    static let defaultBudget = 100
    static let defaultBand = "5:10"

    let run: ChapterRun
    let options: StudyOptions
    let data: FashionMNIST

    static func describeSpaces(_ options: StudyOptions) {
        Narration.section("Beyond the book: design spaces, sampled and measured")
        Narration.say("""
        The paper samples 500 networks per space inside a 360–400 MFLOP band and trains each for 10 \
        ImageNet epochs. Here the same procedure runs at laptop scale on \(side)×\(side) Fashion-MNIST: \
        \(DesignSpaceRanges().summary). Networks are kept only if their forward pass costs \
        \(options.flopsBand.replacingOccurrences(of: ":", with: "–")) MFLOPs per image (rejection sampling), \
        then trained for \(options.budget) steps of batch \(batchSize) at lr \(learningRate) (plain SGD, PyTorch's \
        default initialisation) and scored by their error on the first \(groupDigits(testImages)) test images.
        """)
        for space in options.spaceList { print("  \(space.name): \(space.rule)") }
        print()
    }

    func tell() throws {
        Self.describeSpaces(options)
        let sampler = DesignSpaceSampler(side: Self.side, flopBand: options.band)
        let logPath = run.path(Self.logFile)
        let (existing, skipped) = try StudyLog.read(logPath)
        if skipped > 0 { print("(skipped a damaged last line in \(logPath): a run was stopped while writing it)") }
        var done: [StudyKey: StudyRecord] = [:]
        for r in existing where done[r.key] == nil { done[r.key] = r }

        let images = options.budget * Self.batchSize
        let trainSet = data.train.prefix(images)
        let epochs = (images + trainSet.count - 1) / max(trainSet.count, 1)
        let studyData = FashionMNIST(train: trainSet, test: data.test.prefix(Self.testImages), directory: data.directory)
        let shard = options.shardValue
        let planned = options.spaceList.count * (0..<options.samples).filter(shard.contains).count
        print("Training \(planned) networks\(shard.count > 1 ? " (shard \(shard.index)/\(shard.count))" : ""); "
              + "results are appended to \(logPath) as each one finishes, so an interrupted study resumes.\n")
        for space in options.spaceList {
            for index in 0..<options.samples where shard.contains(index) {
                let key = StudyKey(space: space, index: index, seed: run.seed, budgetSteps: options.budget,
                                   batchSize: Self.batchSize, side: Self.side, flopsBand: [options.band.lowerBound, options.band.upperBound])
                if let r = done[key] {
                    print(line(r, note: "(already in \(Self.logFile))"))
                    continue
                }
                let sample = try sampler.sample(space, index: index, seed: run.seed)
                let record = try trainOne(sample, space: space, index: index, epochs: epochs, data: studyData)
                try StudyLog.append(record, to: logPath)
                done[key] = record
                print(line(record, note: String(format: "%.1f s", record.seconds)))
            }
        }
        let mine = done.values.filter { $0.seed == run.seed && $0.budgetSteps == options.budget && $0.side == Self.side
            && $0.batchSize == Self.batchSize && $0.flopsBand == [options.band.lowerBound, options.band.upperBound] }
        try Self.report(Array(mine), spaces: options.spaceList, run: run)
    }

    /// `B #3  d=(1,2,4) w=(16,32,64) b=(1,1,1) g=(8,8,8)  9.12 MFLOPs  41,234 params  error 0.213  8.1 s`
    func line(_ r: StudyRecord, note: String) -> String {
        String(format: "%@ #%-3d %-44@ %9@FLOPs %9@ params  error %.3f  %@", r.space.rawValue, r.index, r.description,
               formatFlops(r.flops), groupDigits(r.params), r.error, note)
    }

    func trainOne(_ sample: DesignSpaceSampler.Sample, space: DesignSpace, index: Int, epochs: Int, data: FashionMNIST) throws -> StudyRecord {
        let seed = run.seed &+ UInt64(index) &* 1_000 &+ UInt64(DesignSpace.allCases.firstIndex(of: space)!)
        let start = ContinuousClock.now
        let error: Double
        do {
            error = try Self.trainedError(sample.architecture, seed: seed, epochs: epochs, data: data)
        } catch let e as InterruptedError {
            FileHandle.standardError.write(Data("""
            \(e). The networks finished so far are in \(run.path(Self.logFile)); run the same command again to resume.\n
            """.utf8))
            throw ExitCode(e.exitCode)
        }
        return StudyRecord(space: space, index: index, seed: run.seed, architecture: sample.architecture,
                           params: sample.parameters, flops: sample.flops, error: error,
                           seconds: (ContinuousClock.now - start).seconds, budgetSteps: options.budget,
                           batchSize: Self.batchSize, side: Self.side, flopsBand: options.band)
    }

    /// Trains `architecture` with the study's recipe (PyTorch's default initialisation, batch
    /// `batchSize`, lr `learningRate`, `side`×`side`) for `epochs` passes over `data.train`
    /// and returns its error on `data.test`; a diverged network counts as chance (0.9).
    static func trainedError(_ architecture: AnyNetArchitecture, seed: UInt64, epochs: Int, data: FashionMNIST) throws -> Double {
        Random.seed(seed)
        let net = architecture.make()
        net.initialize(.pytorchDefault)
        let config = TrainConfig(epochs: epochs, batchSize: batchSize, learningRate: learningRate, resize: side, seed: seed)
        let trainer = Trainer(net: net, data: data, config: config)
        trainer.quiet = true
        do {
            try trainer.fit()
            return 1 - (trainer.history.last?.testAcc ?? 0)
        } catch is DivergenceError {
            return 0.9     // a diverged network predicts one class: chance level
        }
    }

    /// The table, the EDF plot and what this run measured, next to what the paper found.
    static func report(_ records: [StudyRecord], spaces: [DesignSpace], run: ChapterRun) throws {
        Narration.section("Beyond the book: results of this study")
        let groups = spaces.map { s in (space: s, errors: records.filter { $0.space == s }.map(\.error)) }
        var table: [[String]] = [["space", "n", "min error", "median", "mean ± s.e.", "mean MFLOPs", "mean params"]]
        var stats: [SpaceStatistics] = []
        for g in groups where !g.errors.isEmpty {
            let s = SpaceStatistics(space: g.space, errors: g.errors)
            stats.append(s)
            let these = records.filter { $0.space == g.space }
            let meanFlops = Double(these.map(\.flops).reduce(0, +)) / Double(these.count) / 1e6
            let meanParams = these.map(\.params).reduce(0, +) / these.count
            table.append([g.space.name, "\(s.n)", String(format: "%.3f", s.minError), String(format: "%.3f", s.medianError),
                          String(format: "%.3f ± %.3f", s.meanError, s.standardError), String(format: "%.2f", meanFlops),
                          groupDigits(meanParams)])
        }
        print(alignedColumns(table, rightAligned: [1, 2, 3, 5, 6]).joined(separator: "\n"))
        print()
        try designSpaceEDFPlot(groups, title: "Error EDFs of the design spaces (\(records.count) networks)")
            .writePNG(to: run.path(plotFile))
        run.show(plotFile)
        run.metrics.results["design_space_study"] = .array(stats.map {
            .object(["space": .string($0.space.name), "n": .number(Double($0.n)), "min_error": .number($0.minError),
                     "mean_error": .number($0.meanError), "median_error": .number($0.medianError)])
        })
        try run.writeMetrics()
        guard let best = stats.min(by: { $0.meanError < $1.meanError }), let worst = stats.max(by: { $0.meanError < $1.meanError }),
              let bestMin = stats.min(by: { $0.minError < $1.minError }) else { return }
        let noise = stats.map(\.standardError).max() ?? 0
        Narration.say(String(format: """
        Measured here: %@ has the lowest mean error (%.3f; its EDF lies furthest left on average), %@ the \
        highest (%.3f); the single best network came from %@ (error %.3f). With n = %d per space the \
        standard error of a mean is up to %.3f, so gaps between means smaller than about twice that are \
        within noise; more samples (--samples) or a longer budget (--budget) sharpen the comparison.
        """, best.space.name, best.meanError, worst.space.name, worst.meanError, bestMin.space.name, bestMin.minError,
                                  stats.map(\.n).min() ?? 0, noise))
        Narration.say("""
        The paper (500 networks per space at 360–400 MFLOPs, 10 ImageNet epochs) found: sharing b (B) \
        and then g (C) leaves the EDF virtually unchanged, non-decreasing widths (D) improve it \
        substantially, non-decreasing depths (E) improve it again, and RegNetX is better on average than \
        AnyNetX_E while keeping the best models.
        """)
    }

    /// `--merge a.jsonl b.jsonl …`: combine shards into design-space.jsonl and report.
    static func merge(run: ChapterRun, options: StudyOptions) throws {
        Narration.section("Merging design-space study shards")
        var files: [[StudyRecord]] = []
        for path in options.merge {
            guard FileManager.default.fileExists(atPath: path) else { throw ValidationError("--merge: \(path) does not exist") }
            let (records, skipped) = try StudyLog.read(path)
            print("\(path): \(records.count) networks\(skipped > 0 ? " (skipped a damaged last line)" : "")")
            files.append(records)
        }
        let merged = StudyLog.merge(files)
        let settingsSets = Set(merged.map { "budget \($0.budgetSteps), batch \($0.batchSize), \($0.side)px, band \($0.flopsBand), seed \($0.seed)" })
        guard settingsSets.count <= 1 else {
            throw ValidationError("--merge: the files come from studies with different settings (\(settingsSets.sorted().joined(separator: "; "))); merge only shards of one study")
        }
        let out = run.path(logFile), temporary = out + ".partial"
        try? FileManager.default.removeItem(atPath: temporary)
        for r in merged { try StudyLog.append(r, to: temporary) }
        if merged.isEmpty { _ = FileManager.default.createFile(atPath: temporary, contents: Data()) }
        guard rename(temporary, out) == 0 else {     // atomic: the old file stays until the new one is complete
            throw OutputError(path: out, reason: "cannot replace the file (\(String(cString: strerror(errno))))")
        }
        print("\(merged.count) distinct networks written to \(out)\n")
        let spaces = DesignSpace.allCases.filter { s in merged.contains { $0.space == s } }
        try report(merged, spaces: spaces, run: run)
    }
}

extension SpaceStatistics {
    /// Standard error of the mean error (sample standard deviation / √n).
    var standardError: Double { standardDeviation / Double(max(n, 1)).squareRoot() }
}

