import D2L
import Foundation

/// Versions of a network trained side by side with the same seed(s), data and budget, as the
/// exercises that ask "what changes if …" need: one run per variant and seed, each with its
/// own progress bar, time estimate and epoch lines; then a table, a picture and JSON.
public struct VariantTraining {
    /// One variant trained with one seed.
    public struct Run {
        public let variant: String
        public let seed: UInt64
        public let parameters: Int
        /// Every finished epoch (empty when the first epoch diverged).
        public let history: [EpochMetrics]
        public let imagesPerSecond: Double
        public let seconds: Double
        /// Stopped because the loss diverged (see `DivergenceWatch`).
        public let diverged: Bool
        /// Peak resident memory during this run (VmHWM after a reset), when the system reports it.
        public let peakBytes: Int?
        /// How far that peak rose above the resident memory when the run started (its network,
        /// activations, gradients and workspaces; not the data loaded before).
        public let addedBytes: Int?
        /// Accuracy on the training images in evaluation mode after training (with `evaluateTrainingSet`).
        public let trainEvalAccuracy: Double?
        public var testAccuracy: Double { diverged ? 0 : history.last?.testAcc ?? 0 }
        public var trainAccuracy: Double { diverged ? 0 : history.last?.trainAcc ?? 0 }
    }

    public let config: TrainConfig
    /// The settings of each variant, where `adjust` changed them.
    public private(set) var configs: [String: TrainConfig] = [:]
    public let trainImages: Int
    public private(set) var runs: [Run] = []
    public var variants: [String] { runs.map(\.variant).reduce(into: []) { if !$0.contains($1) { $0.append($1) } } }
    public var seeds: [UInt64] { runs.map(\.seed).reduce(into: []) { if !$0.contains($1) { $0.append($1) } } }

    /// Trains every variant with every seed (variants in the outer loop).
    /// - Parameters:
    ///   - variants: names and builders; each network is built after seeding and initialised
    ///     with `initialization` (Xavier, as the book's chapters 7.1–7.7).
    ///   - adjust: changes a variant's settings (its own learning rate or input size, say);
    ///     the variants share `config` otherwise.
    ///   - configure: changes a variant's trainer before it trains, after its lazy layers have
    ///     their parameters (its loss, or which parameters learn).
    ///   - evaluateTrainingSet: after training, measure accuracy on the training images in
    ///     evaluation mode too (what overfitting compares with test accuracy).
    public init(_ variants: [(String, () -> Module)], config: TrainConfig, data: FashionMNIST, seeds: [UInt64]? = nil,
                initialization: WeightInit = .xavierUniform, quiet: Bool = false, evaluateTrainingSet: Bool = false,
                adjust: (String, inout TrainConfig) -> Void = { _, _ in },
                configure: (String, Trainer) -> Void = { _, _ in }) throws {
        self.config = config
        trainImages = data.train.count
        let seeds = seeds ?? [config.seed]
        print("Each run: \(config.epochs) epoch\(config.epochs == 1 ? "" : "s") of \(groupDigits(data.train.count)) images at "
              + "\(config.resize)×\(config.resize), batch \(config.batchSize), lr \(config.learningRate), tested on "
              + "\(groupDigits(data.test.count)) images; \(variants.count) variant\(variants.count == 1 ? "" : "s") × "
              + "seed\(seeds.count == 1 ? "" : "s") \(seeds.map(String.init).joined(separator: ", ")).\n")
        for (name, make) in variants {
            var variantConfig = config
            adjust(name, &variantConfig)
            configs[name] = variantConfig
            if variantConfig != config {
                let changes = variantConfig.differences(from: config)
                if !changes.isEmpty { print("\(name): \(changes.joined(separator: "; ")).") }
            }
            for seed in seeds {
                var c = variantConfig
                c.seed = seed
                Random.seed(seed)
                let net = make()
                net.initialize(initialization)
                let label = seeds.count > 1 ? "\(name), seed \(seed)" : name
                let trainer = Trainer(net: net, data: data, config: c, label: label)
                trainer.quiet = quiet
                try trainer.materialise()
                configure(name, trainer)
                ProcessMemory.resetPeak()
                let before = ProcessMemory.residentBytes()
                let start = ContinuousClock.now
                var diverged = false
                do { try trainer.fit() } catch let error as DivergenceError {
                    diverged = true
                    print("\(label): \(error.description)")
                }
                let peak = ProcessMemory.peakBytes()
                let seconds = (ContinuousClock.now - start).seconds
                var trainEval: Double?
                if evaluateTrainingSet && !diverged {
                    trainEval = try evaluateAccuracy(net, on: data.train, batchSize: Swift.max(c.batchSize, 256),
                                                     resize: BilinearResize(from: data.train.height, to: c.resize))
                }
                runs.append(Run(variant: name, seed: seed, parameters: net.parameterCount, history: trainer.history,
                                imagesPerSecond: trainer.examplesPerSec, seconds: seconds, diverged: diverged, peakBytes: peak,
                                addedBytes: peak.flatMap { p in before.map { p - $0 } }, trainEvalAccuracy: trainEval))
                if quiet && runs.count == 1 && variants.count * seeds.count > 1 {
                    // Quiet runs print no estimate of their own: the first one's time stands for all.
                    print("The first run took \(formatDuration(seconds)); all \(variants.count * seeds.count) should take about "
                          + "\(formatDuration(seconds * Double(variants.count * seeds.count))) (variants differ in cost).")
                }
            }
        }
        print()
    }

    public func runs(of variant: String) -> [Run] { runs.filter { $0.variant == variant } }

    /// The mean final test accuracy of `variant` over the seeds (a diverged run counts as 0).
    public func testAccuracy(_ variant: String) -> Double { mean(runs(of: variant).map(\.testAccuracy)) }
    public func trainAccuracy(_ variant: String) -> Double { mean(runs(of: variant).map(\.trainAccuracy)) }
    public func imagesPerSecond(_ variant: String) -> Double { mean(runs(of: variant).map(\.imagesPerSecond)) }
    public func parameters(_ variant: String) -> Int { runs(of: variant).first?.parameters ?? 0 }
    public func diverged(_ variant: String) -> Bool { runs(of: variant).contains { $0.diverged } }
    /// Mean accuracy on the training images in evaluation mode (with `evaluateTrainingSet`).
    public func trainEvalAccuracy(_ variant: String) -> Double? {
        let a = runs(of: variant).compactMap(\.trainEvalAccuracy)
        return a.isEmpty ? nil : mean(a)
    }
    /// The largest memory any run of `variant` added above what was resident when it started.
    public func addedBytes(_ variant: String) -> Int? { runs(of: variant).compactMap(\.addedBytes).max() }

    /// The largest difference in test accuracy that the seed alone caused for any variant
    /// (nil with one seed: then no difference can be told from noise by this run).
    public var seedSpread: Double? { seedSpread(of: variants) }

    /// The same for the given variants only (what a comparison of two of them is judged against).
    public func seedSpread(of names: [String]) -> Double? {
        guard seeds.count > 1 else { return nil }
        return names.map { v in let a = runs(of: v).map(\.testAccuracy); return a.max()! - a.min()! }.max()
    }

    /// Whether `variant` diverged or ended no better than twice chance (ten classes): it never
    /// left the plateau where it predicts about one class.
    public func failedToLearn(_ variant: String) -> Bool { diverged(variant) || testAccuracy(variant) < 0.2 }

    /// "X reaches 0.812 test accuracy against 0.800 for Y (+0.012), …" with a verdict that uses
    /// the seed spread when there is one; a sentence, so it starts with a capital letter.
    public func compare(_ variant: String, with baseline: String) -> String {
        let sentence = comparison(variant, with: baseline)
        // Only a Latin letter is capitalised: "β = 0 …" stays a β.
        guard let first = sentence.first, first.isASCII, first.isLowercase else { return sentence }
        return first.uppercased() + sentence.dropFirst()
    }

    private func comparison(_ variant: String, with baseline: String) -> String {
        let (a, b) = (testAccuracy(variant), testAccuracy(baseline))
        if failedToLearn(variant) || failedToLearn(baseline) {
            let failed = [variant, baseline].filter(failedToLearn)
            return String(format: "%@ reaches %.3f test accuracy against %.3f for %@, but ", variant, a, b, baseline)
                + failed.joined(separator: " and ") + " did not leave chance level at this budget (\(failed.contains(where: diverged) ? "the loss diverged" : "the loss stayed near ln 10 = 2.303"))"
        }
        var s = String(format: "%@ reaches %.3f test accuracy against %.3f for %@ (%+.3f)", variant, a, b, baseline, a - b)
        if let spread = seedSpread(of: [variant, baseline]) {
            s += Swift.abs(a - b) <= spread
                ? String(format: ", within the %.3f the seed alone moves a result: alike at this budget", spread)
                : String(format: ", more than the %.3f the seed alone moves a result", spread)
        } else {
            s += " (one seed each)"
        }
        return s
    }

    /// One row per variant: parameters, final loss, train and test accuracy (means over the
    /// seeds), training images/s, peak memory and wall time.
    public var table: String {
        let withTrainEval = runs.contains { $0.trainEvalAccuracy != nil }
        let header = ["variant", "parameters", "loss", "train acc"] + (withTrainEval ? ["train acc (eval)"] : [])
            + ["test acc", "img/s", "memory", "seconds"]
        let body = variants.map { v -> [String] in
            let r = runs(of: v)
            let loss = r.compactMap { $0.diverged ? nil : $0.history.last?.loss }
            return [v, groupDigits(parameters(v)), diverged(v) ? "diverged" : String(format: "%.3f", mean(loss)),
                    String(format: "%.3f", trainAccuracy(v))]
                + (withTrainEval ? [trainEvalAccuracy(v).map { String(format: "%.3f", $0) } ?? "–"] : [])
                + [String(format: "%.3f", testAccuracy(v)), String(format: "%.0f", imagesPerSecond(v)),
                   StepMemory.describe(addedBytes(v)),
                   String(format: "%.0f", r.map(\.seconds).reduce(0, +))]
        }
        let notes = ["train acc: the running mean during the last epoch, as train_ch6 prints it",
                     "memory: the peak resident memory a run added to what the process held when it started"]
            + (seeds.count > 1 ? ["accuracies are means over seeds \(seeds.map(String.init).joined(separator: ", ")), seconds their sum"] : [])
        return alignedColumns([header] + body, rightAligned: Set(1..<header.count)).joined(separator: "\n")
            + "\n" + notes.map { "(" + $0 + ")" }.joined(separator: "\n")
    }

    /// Test accuracy, training speed and parameters of each variant as bars.
    public func chart(title: String) -> Canvas {
        let names = variants
        return barChart(labels: names,
                        panels: [("test accuracy", names.map(testAccuracy), { String(format: "%.3f", $0) }),
                                 ("training img/s", names.map(imagesPerSecond), { String(format: "%.0f", $0) }),
                                 ("parameters", names.map { Double(parameters($0)) }, { formatFlops(Int($0)) })],
                        title: title,
                        subtitle: "\(config.epochs) epoch\(config.epochs == 1 ? "" : "s") of \(groupDigits(trainImages)) images "
                            + (Set(configs.values.map(\.resize)).count == 1 ? "at \(configs.values.first!.resize)×\(configs.values.first!.resize); "
                                                                            : "at each variant's own size; ")
                            + (seeds.count > 1 ? "means over \(seeds.count) seeds" : "seed \(seeds[0])"))
    }

    /// The running training loss of every run on one plot (five points per epoch, as train_ch6).
    public func lossCurves(title: String) -> Canvas {
        var plot = LinePlot(title: title, xLabel: "epoch", yLabel: "running training loss",
                            series: seriesPerRun { $0.history.flatMap(\.plotPoints).map { (x: $0.epoch, y: $0.loss) } })
        plot.xRange = (0, Double(config.epochs))
        return plot.render(width: 760)
    }

    /// Test accuracy after every epoch, one line per run.
    public func accuracyCurves(title: String) -> Canvas {
        var plot = LinePlot(title: title, xLabel: "epoch", yLabel: "test accuracy",
                            series: seriesPerRun { $0.history.map { (x: Double($0.epoch), y: $0.testAcc) } }, yRange: (0, 1))
        plot.xMinStep = 1
        return plot.render(width: 760)
    }

    /// One line per run: a colour per variant, the first seed solid and the others dashed.
    private func seriesPerRun(_ points: (Run) -> [(x: Double, y: Double)]) -> [LinePlot.Series] {
        let names = variants
        return runs.map { r in
            LinePlot.Series(name: seeds.count > 1 ? "\(r.variant), seed \(r.seed)" : r.variant, points: points(r),
                            color: RGB.palette[names.firstIndex(of: r.variant)! % RGB.palette.count], dashed: r.seed != seeds[0])
        }
    }

    public var json: JSONValue {
        .object(["epochs": .number(Double(config.epochs)), "train_images": .number(Double(trainImages)),
                 "resize": .number(Double(config.resize)), "batch_size": .number(Double(config.batchSize)),
                 "lr": .number(Double(config.learningRate)),
                 "runs": .array(runs.map { r in
                     .object(["variant": .string(r.variant), "seed": .number(Double(r.seed)), "parameters": .number(Double(r.parameters)),
                              "diverged": .bool(r.diverged), "test_acc": .number(r.testAccuracy), "train_acc": .number(r.trainAccuracy),
                              "loss": r.history.last.map { .number($0.loss) } ?? .null,
                              "test_acc_per_epoch": .array(r.history.map { .number($0.testAcc) }),
                              "images_per_second": .number(r.imagesPerSecond), "seconds": .number(r.seconds),
                              "peak_bytes": r.peakBytes.map { .number(Double($0)) } ?? .null,
                              "added_bytes": r.addedBytes.map { .number(Double($0)) } ?? .null,
                              "train_acc_eval_mode": r.trainEvalAccuracy.map(JSONValue.number) ?? .null,
                              "lr": .number(Double(configs[r.variant]?.learningRate ?? config.learningRate)),
                              "batch_size": .number(Double(configs[r.variant]?.batchSize ?? config.batchSize)),
                              "resize": .number(Double(configs[r.variant]?.resize ?? config.resize))])
                 })])
    }

    private func mean(_ v: [Double]) -> Double { v.isEmpty ? 0 : v.reduce(0, +) / Double(v.count) }
}

extension ChapterRun {
    /// Writes `canvas` as `file` in the output folder and lists it in the transcript.
    public func draw(_ canvas: Canvas, to file: String) throws {
        try canvas.writePNG(to: path(file))
        show(file)
    }
}

extension ChapterRun {
    /// The usual shape of a training exercise: the exercise's quick budget (see
    /// `exerciseConfig`), the data it names, every variant trained (see `VariantTraining`) and
    /// the table printed.
    public func trainVariants(_ variants: [(String, () -> Module)], epochs: Int, trainLimit: Int?, testLimit: Int?,
                              lrDecay: Double? = nil, seeds: Int = 1, initialization: WeightInit = .xavierUniform,
                              quiet: Bool = false, configure: (String, Trainer) -> Void = { _, _ in }) throws -> VariantTraining {
        let config = exerciseConfig(epochs: epochs, trainLimit: trainLimit, testLimit: testLimit, lrDecay: lrDecay)
        if config.lrDecay > 0 && settings.profile != "full" {
            print("The learning rate falls linearly to 0 over the last \(Int(config.lrDecay * 100))% of the steps.")
        }
        let data = try loadData(trainLimit: config.trainLimit, testLimit: config.testLimit)
        let study = try VariantTraining(variants, config: config, data: data, seeds: (0..<UInt64(seeds)).map { config.seed + $0 },
                                        initialization: initialization, quiet: quiet, configure: configure)
        print(study.table + "\n")
        return study
    }
}
