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
    /// The study trains on the original 28×28 images unless `--side` says otherwise, with batch
    /// 64, and measures the error on the first 2,000 test images.
    static let defaultSide = 28, batchSize = 64, testImages = 2_000
    static let defaultBudget = 100
    /// The default band, in millions of multiply-adds (the paper's "MF").
    static let defaultBand = "2.5:5"

    let run: ChapterRun
    let options: StudyOptions
    let data: FashionMNIST

    /// `trainingImages`: the size of the training set, when loaded, to state the budget in epochs.
    static func describeSpaces(_ options: StudyOptions, trainingImages: Int? = nil) {
        Narration.section("Beyond the book: design spaces, sampled and measured")
        let side = options.side
        let recipe = options.recipe.config(epochs: 1, batchSize: batchSize, side: side, seed: 0)
        let images = options.budget * batchSize
        let epochs = trainingImages.map { ", " + String(format: "%.2f", Double(images) / Double($0)) + " of an epoch of the \(groupDigits($0)) training images" } ?? ""
        Narration.say("""
        The paper samples 500 networks per space inside a band of 360–400 million multiply-adds (its \
        "360–400MF") and trains each for 10 \
        ImageNet epochs. Here the same procedure runs at laptop scale on \(side == defaultSide ? "\(side)×\(side) Fashion-MNIST" : "Fashion-MNIST resized to \(side)×\(side)"): \
        \(DesignSpaceRanges().summary). Networks are kept only if their forward pass costs \
        \(options.bandText.replacingOccurrences(of: ":", with: "–")) million multiply-adds per image, counted as the \
        paper counts them (rejection sampling), \
        then trained for \(options.budget) steps of batch \(batchSize) (\(groupDigits(images)) images\(epochs)) with \(recipe.optimizerDescription) \
        at lr \(recipe.learningRate)\(recipe.cosine ? " on a cosine schedule" : "") (PyTorch's \
        default initialisation) and scored by their error on the first \(groupDigits(testImages)) test images.
        """)
        for space in options.spaceList { print("  \(space.name): \(space.rule)") }
        print()
    }

    func tell() throws {
        Self.describeSpaces(options, trainingImages: data.train.count)
        let sampler = DesignSpaceSampler(side: options.side, macBand: options.band)
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
                                   batchSize: Self.batchSize, side: options.side, macsBand: [options.band.lowerBound, options.band.upperBound],
                                   recipe: options.recipe.recordName ?? "sgd")
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
        let mine = done.values.filter { $0.seed == run.seed && $0.budgetSteps == options.budget && $0.side == options.side
            && $0.batchSize == Self.batchSize && $0.macsBand == [options.band.lowerBound, options.band.upperBound]
            && $0.recipe == options.recipe.recordName }
        try Self.report(Array(mine), spaces: options.spaceList, run: run)
        if options.rankCheck > 0 && shard.count == 1 { try rankCheck(Array(mine), epochs: epochs, data: studyData) }
    }

    /// Trains some of the study's networks again with another seed and measures how well the
    /// two runs agree on their order (Spearman's ρ of the errors): a recipe whose ranking is
    /// noise cannot tell design spaces apart, however many networks it samples.
    func rankCheck(_ records: [StudyRecord], epochs: Int, data: FashionMNIST) throws {
        let perSpace = (options.rankCheck + options.spaceList.count - 1) / options.spaceList.count
        let chosen = options.spaceList.flatMap { space in
            records.filter { $0.space == space }.sorted { $0.index < $1.index }.prefix(perSpace)
        }.prefix(options.rankCheck)
        guard chosen.count >= 3 else { return }
        Narration.section("Beyond the book: is this ranking of networks more than noise?")
        print("Training \(chosen.count) of these networks again with another seed (initialisation and order of the images):\n")
        var again: [Double] = []
        for r in chosen {
            let seed = networkSeed(r.space, index: r.index) &+ 7_919
            again.append(try Self.trainedError(r.architecture, seed: seed, epochs: epochs, data: data, side: options.side, recipe: options.recipe))
            print(String(format: "%@ #%-3d error %.3f, again %.3f", r.space.rawValue, r.index, r.error, again.last!))
        }
        let rho = spearman(chosen.map(\.error), again)
        let differences = zip(chosen, again).map { Swift.abs($0.0.error - $0.1) }
        Narration.say(String(format: """
        Spearman's ρ between the two runs' errors of the same %d networks is %.2f (1: the same order, 0: \
        unrelated), and a network's error moved by %.3f on average between seeds. %@
        """, chosen.count, rho, differences.reduce(0, +) / Double(differences.count),
            rho >= 0.8 ? "This recipe ranks networks consistently, so differences between spaces beyond their intervals are real."
                : rho >= 0.5 ? "The ranking is partly noise at this budget: trust only large differences between spaces."
                : "At this budget the ranking is mostly noise, so this study cannot compare design spaces reliably; --rank-check measures the same for any --budget or --samples."))
        run.metrics.results["rank_check"] = .object(["networks": .number(Double(chosen.count)), "spearman": .number(rho),
                                                     "errors": .array(chosen.map { .number($0.error) }), "errors_again": .array(again.map(JSONValue.number))])
        try run.writeMetrics()
    }

    /// `B #3  d=(1,2,4) w=(16,32,64) b=(1,1,1) g=(8,8,8)  3.12 MF  41,234 params  error 0.213  8.1 s`
    func line(_ r: StudyRecord, note: String) -> String {
        String(format: "%@ #%-3d %-44@ %5.2f MF %9@ params  error %.3f  %@", r.space.rawValue, r.index, r.description,
               Double(r.macs) / 1e6, groupDigits(r.params), r.error, note)
    }

    /// The seed sample `index` of `space` trains with (initialisation and the order of its images).
    func networkSeed(_ space: DesignSpace, index: Int) -> UInt64 {
        run.seed &+ UInt64(index) &* 1_000 &+ UInt64(DesignSpace.allCases.firstIndex(of: space)!)
    }

    func trainOne(_ sample: DesignSpaceSampler.Sample, space: DesignSpace, index: Int, epochs: Int, data: FashionMNIST) throws -> StudyRecord {
        let seed = networkSeed(space, index: index)
        let start = ContinuousClock.now
        let error: Double
        do {
            error = try Self.trainedError(sample.architecture, seed: seed, epochs: epochs, data: data, side: options.side, recipe: options.recipe)
        } catch let e as InterruptedError {
            FileHandle.standardError.write(Data("""
            \(e). The networks finished so far are in \(run.path(Self.logFile)); run the same command again to resume.\n
            """.utf8))
            throw ExitCode(e.exitCode)
        }
        return StudyRecord(space: space, index: index, seed: run.seed, architecture: sample.architecture,
                           params: sample.parameters, macs: sample.multiplyAdds, error: error,
                           seconds: (ContinuousClock.now - start).seconds, budgetSteps: options.budget,
                           batchSize: Self.batchSize, side: options.side, macsBand: options.band,
                           recipe: options.recipe.recordName)
    }

    /// Trains `architecture` with `recipe` (PyTorch's default initialisation, batch `batchSize`,
    /// `side`×`side`) for `epochs` passes over `data.train` and returns its error on
    /// `data.test`; a diverged network counts as chance (0.9).
    static func trainedError(_ architecture: AnyNetArchitecture, seed: UInt64, epochs: Int, data: FashionMNIST,
                             side: Int = defaultSide, recipe: StudyRecipe = .paper) throws -> Double {
        Random.seed(seed)
        let net = architecture.make()
        net.initialize(.pytorchDefault)
        let config = recipe.config(epochs: epochs, batchSize: batchSize, side: side, seed: seed)
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
        var table: [[String]] = [["space", "n", "min error", "median", "mean ± s.e.", "mean MF", "mean params"]]
        var stats: [SpaceStatistics] = []
        for g in groups where !g.errors.isEmpty {
            let s = SpaceStatistics(space: g.space, errors: g.errors)
            stats.append(s)
            let these = records.filter { $0.space == g.space }
            let meanMACs = Double(these.map(\.macs).reduce(0, +)) / Double(these.count) / 1e6
            let meanParams = these.map(\.params).reduce(0, +) / these.count
            table.append([g.space.name, "\(s.n)", String(format: "%.3f", s.minError), String(format: "%.3f", s.medianError),
                          String(format: "%.3f ± %.3f", s.meanError, s.standardError), String(format: "%.2f", meanMACs),
                          groupDigits(meanParams)])
        }
        print(alignedColumns(table, rightAligned: [1, 2, 3, 5, 6]).joined(separator: "\n"))
        print()
        try run.draw(errorEDFPlot(groups.map { (name: $0.space.name, errors: $0.errors) },
                                  title: "Error EDFs of the design spaces (\(records.count) networks)", bands: true), to: plotFile)
        let steps = refinementSteps(groups.filter { !$0.errors.isEmpty })
        if !steps.isEmpty {
            print(alignedColumns([["step", "Δ mean error (95% bootstrap interval)", "KS distance", "this run", "the paper"]] + steps.map {
                [$0.step, String(format: "%+.3f (%+.3f … %+.3f)", $0.difference.estimate, $0.difference.low, $0.difference.high),
                 String(format: "%.2f", $0.ks), $0.measured, $0.paper]
            }, rightAligned: [2]).joined(separator: "\n") + "\n")
            Narration.say(steps.map { s in
                s.agrees ? "\(s.step): \(s.measured), as the paper found."
                    : (s.difference.sign == 0 ? "\(s.step): the interval contains 0, so this run cannot tell; the paper found it \(s.paper)."
                                              : "\(s.step): \(s.measured) beyond the interval, where the paper found it \(s.paper).")
            }.joined(separator: " "))
        }
        try run.draw(bestOfNPlot(groups.filter { !$0.errors.isEmpty }), to: bestOfNFile)
        try goodRegion(records.filter { $0.space == .e }, run: run)
        run.metrics.results["design_space_steps"] = .array(steps.map {
            .object(["step": .string($0.step), "mean_difference": .number($0.difference.estimate), "low": .number($0.difference.low),
                     "high": .number($0.difference.high), "ks": .number($0.ks), "agrees_with_paper": .bool($0.agrees)])
        })
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
        The paper (500 networks per space at 360–400 million multiply-adds, 10 ImageNet epochs) found: \
        sharing b (B) \
        and then g (C) leaves the EDF virtually unchanged, non-decreasing widths (D) improve it \
        substantially, non-decreasing depths (E) improve it again, and RegNetX is better on average than \
        AnyNetX_E while keeping the best models.
        """)
    }

    /// One refinement of the paper (A→B, B→C, C→D, D→E, E→X) as this run measured it.
    struct RefinementStep {
        let step: String
        /// mean error of the refined space − mean error of the one before, with its interval.
        let difference: Interval
        let ks: Double
        /// What the interval says: "better", "worse" or "alike (interval contains 0)".
        var measured: String { ["worse", "alike (interval contains 0)", "better"][1 - difference.sign] }
        let paper: String
        /// The paper's finding for the step: 0 for no change, −1 for lower error.
        let paperSign: Int
        var agrees: Bool { difference.sign == paperSign }
    }

    /// The paper's steps between the spaces present, in its order.
    static func refinementSteps(_ groups: [(space: DesignSpace, errors: [Double])]) -> [RefinementStep] {
        let expectations: [DesignSpace: (String, Int)] = [
            .b: ("alike (sharing b costs nothing)", 0), .c: ("alike (sharing g costs nothing)", 0),
            .d: ("better (increasing widths help)", -1), .e: ("better (increasing depths help)", -1),
            .x: ("better on average", -1)]
        var steps: [RefinementStep] = []
        for (before, after) in zip(DesignSpace.allCases, DesignSpace.allCases.dropFirst()) {
            guard let a = groups.first(where: { $0.space == before })?.errors, let b = groups.first(where: { $0.space == after })?.errors,
                  a.count > 1, b.count > 1, let expected = expectations[after] else { continue }
            steps.append(RefinementStep(step: "\(before.name) → \(after.name)", difference: bootstrapMeanDifference(a, b, seed: 7),
                                        ks: kolmogorovSmirnov(a, b), paper: expected.0, paperSign: expected.1))
        }
        return steps
    }

    static let bestOfNFile = "design-space-best-of-n.png", goodRegionFile = "design-space-good-region.png"

    /// The paper's route from AnyNetX_E to RegNet: fit the quantised linear rule to the
    /// per-block widths of E's best networks and compare the fit error with that of the rest.
    static func goodRegion(_ records: [StudyRecord], run: ChapterRun) throws {
        guard records.count >= 4 else { return }
        let sorted = records.sorted { $0.error < $1.error }
        let top = Array(sorted.prefix(Swift.max(2, sorted.count / 4))), rest = Array(sorted.dropFirst(top.count))
        func fits(_ r: [StudyRecord]) -> [QuantizedLinearFit] { r.map { QuantizedLinearFit(widths: $0.architecture.blockWidths) } }
        let (topFits, restFits) = (fits(top), fits(rest))
        func mean(_ f: [QuantizedLinearFit]) -> Double { f.map(\.error).reduce(0, +) / Double(Swift.max(f.count, 1)) }
        print(alignedColumns([["AnyNetX_E network", "error", "block widths", "fitted rule", "e_fit"]] + zip(top, topFits).map { r, f in
            ["#\(r.index)", String(format: "%.3f", r.error), r.architecture.blockWidths.map(String.init).joined(separator: " "),
             f.fitted.map(String.init).joined(separator: " "), String(format: "%.3f", f.error)]
        }, rightAligned: [1, 4]).joined(separator: "\n") + "\n")
        Narration.say(String(format: """
        The paper found that the best AnyNetX_E networks have widths that grow roughly linearly with the \
        block index, and turned that into RegNet's quantised linear rule. Fitted to the per-block widths \
        of this run's %d best E networks, the rule misses by e_fit = %.3f on average (mean |ln(w/ŵ)|), \
        against %.3f for the other %d: %@
        """, top.count, mean(topFits), mean(restFits), rest.count,
            mean(topFits) < mean(restFits) ? "the good networks follow the rule more closely, as in the paper."
                : "here the best networks do not follow the rule more closely than the rest; at this budget and scale the paper's observation does not show."))
        // The plot shows the best six (the table lists them all): more lines would repeat colours.
        let best = zip(top, topFits).prefix(6).map { (label: String(format: "E #%d, error %.3f", $0.0.index, $0.0.error), architecture: $0.0.architecture, fit: $0.1) }
        try run.draw(goodRegionPlot(best, title: "Per-block widths of the best AnyNetX_E networks and RegNet's rule"), to: goodRegionFile)
        run.metrics.results["good_region_fit"] = .object(["top": .number(Double(top.count)), "mean_fit_error_top": .number(mean(topFits)),
                                                          "mean_fit_error_rest": .number(mean(restFits))])
    }

    /// The expected lowest error among n networks drawn from each space, n = 1 … its sample size:
    /// how many samples a space needs before it yields a good network.
    static func bestOfNPlot(_ groups: [(space: DesignSpace, errors: [Double])]) -> Canvas {
        let series = groups.enumerated().map { i, g in
            LinePlot.Series(name: g.space.name, points: (1...Swift.max(g.errors.count, 1)).map { (x: Double($0), y: expectedBestOfN(g.errors, n: $0)) },
                            color: RGB.palette[i % RGB.palette.count])
        }
        var plot = LinePlot(title: "Expected best error among n sampled networks", xLabel: "n (networks sampled and trained)",
                            yLabel: "expected lowest test error", series: series)
        plot.xMinStep = 1
        return plot.render(width: 760, height: 460)
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
        let settingsSets = Set(merged.map { "budget \($0.budgetSteps), batch \($0.batchSize), \($0.side)px, band \($0.macsBand), recipe \($0.recipe ?? "sgd"), seed \($0.seed)" })
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

