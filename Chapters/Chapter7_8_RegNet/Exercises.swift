import ChapterKit
import D2L
import Experiments
import Foundation
import Models

/// The exercises of 7.8 (en 1.0.3's 8.8) this program answers.
extension RegNetChapter {
    static let exercises = [
        Exercise([1], .experiment, "Give RegNetX four stages instead of two: does a deeper RegNetX do better?", answer: fourStages),
        Exercise([2], .experiment, "Build RegNetX-32 from ResNet blocks instead of ResNeXt blocks: what changes?", answer: resNetBlocks),
        Exercise([3], .experiment, """
            "VioNet": sample networks that break one of AnyNetX_E's rules each (shared b, shared g, widths \
            or depths that do not decrease); which rule matters most?
            """, answer: vioNet),
        .discussion(4, "Could the same design-space principles find the perfect MLP, and do they extrapolate from small to large?", answer: {
            """
            The method carries over (sample MLPs by depth, widths and their progression, compare error EDFs), \
            and the paper's own check applies: a rule found at a small budget must be re-tested at a larger one.
            """
        }),
    ]

    /// Exercises 1 and 2 train at the chapter's quick settings (28×28, batch 128, lr 0.1 decaying
    /// over the second half, PyTorch's default initialisation) on 1 epoch of 20,000 images, two seeds.
    static func regNetStudy(_ run: ChapterRun, _ variants: [(String, () -> Module)]) throws -> VariantTraining {
        try run.trainVariants(variants, epochs: 1, trainLimit: 20_000, testLimit: 2_000, seeds: 2, initialization: .pytorchDefault)
    }

    static func describe(_ stages: [AnyNetStage]) -> String {
        "depths \(stages.map { String($0.depth) }.joined(separator: ", ")), widths \(stages.map { String($0.channels) }.joined(separator: ", "))"
    }

    static func fourStages(_ run: ChapterRun) throws -> ExerciseResult {
        let (two, four) = ("RegNetX-32 (2 stages)", "RegNetX, 4 stages")
        print("RegNetX-32: \(describe(regNetX32Stages)); the four-stage network: \(describe(regNetX4StageStages)); group width 16, no bottleneck.")
        print(try anyNet(stem: 32, stages: regNetX4StageStages).layerSummary(inputShape: [1, 1, 28, 28]).printout + "\n")
        let study = try regNetStudy(run, [(two, { regNetX32() }), (four, { anyNet(stem: 32, stages: regNetX4StageStages) })])
        let flops = try [regNetX32(), anyNet(stem: 32, stages: regNetX4StageStages)].map { try $0.layerSummary(inputShape: [1, 1, 28, 28]).totalFlops }
        Narration.say(String(format: """
        %@. The four-stage network has %@ parameters against %@ and needs %@FLOPs per 28×28 image against %@FLOPs: \
        its two extra stages work on 2×2 and 1×1 maps, where they are cheap in arithmetic but wide in \
        parameters. On 28×28 images the stem and four halvings leave a single pixel, so the later stages \
        can only mix channels; deeper RegNets pay off on larger images (the paper's are 224×224).
        """, study.compare(four, with: two), groupDigits(study.parameters(four)), groupDigits(study.parameters(two)),
            formatFlops(flops[1]), formatFlops(flops[0])))
        try run.draw(study.chart(title: "RegNetX with two or four stages"), to: "exercise-1.png")
        return ExerciseResult(json: study.json.objectValue, pictures: ["exercise-1.png"])
    }

    static func resNetBlocks(_ run: ChapterRun) throws -> ExerciseResult {
        let (resnext, resnet) = ("ResNeXt blocks (RegNetX-32)", "ResNet blocks")
        let study = try regNetStudy(run, [(resnext, { regNetX32() }), (resnet, { anyNetWithResNetBlocks(stem: 32, stages: regNetX32Stages) })])
        let flops = try [regNetX32(), anyNetWithResNetBlocks(stem: 32, stages: regNetX32Stages)].map {
            try $0.layerSummary(inputShape: [1, 1, 28, 28]).totalFlops
        }
        Narration.say(String(format: """
        %@. With the same widths and depths, the ResNet blocks (two full 3×3 convolutions) have %@ parameters \
        against %@ and need %@FLOPs per image against %@FLOPs, training at %.0f against %.0f images/s. The \
        ResNeXt block's grouped 3×3 convolution (groups of 16 channels) costs a fraction of a full one; \
        that saving is what lets RegNetX spend its budget on width and depth instead.
        """, study.compare(resnet, with: resnext), groupDigits(study.parameters(resnet)), groupDigits(study.parameters(resnext)),
            formatFlops(flops[1]), formatFlops(flops[0]), study.imagesPerSecond(resnet), study.imagesPerSecond(resnext)))
        try run.draw(study.chart(title: "RegNetX-32's layout with ResNeXt or ResNet blocks"), to: "exercise-2.png")
        return ExerciseResult(json: study.json.objectValue, pictures: ["exercise-2.png"])
    }

    /// Exercise 3: samples from AnyNetX_E and from four "VioNet" spaces, each breaking one rule,
    /// inside the study's band of multiply-adds, trained with the study's recipe. Quick: 6 networks per
    /// space, 200 steps each; --full: 20 networks, 400 steps. --train-limit N trains each network
    /// on N images (N / 64 steps), --test-limit scores it on that many test images.
    static func vioNet(_ run: ChapterRun) throws -> ExerciseResult {
        let full = run.settings.profile == "full"
        let batch = DesignSpaceStudyChapter.batchSize
        let samples = full ? 20 : 6
        let steps = run.options.trainLimit.map { Swift.max(1, $0 / batch) } ?? (full ? 400 : 200)
        let band = StudyOptions.parseBand(DesignSpaceStudyChapter.defaultBand)!
        let sampler = DesignSpaceSampler(side: DesignSpaceStudyChapter.defaultSide, macBand: band)
        let images = steps * batch
        let testImages = run.options.testLimit ?? DesignSpaceStudyChapter.testImages
        let all = try run.loadData(trainLimit: .some(images), testLimit: .some(testImages))
        let data = FashionMNIST(train: all.train.prefix(images), test: all.test.prefix(testImages), directory: all.directory)
        let epochs = (images + data.train.count - 1) / Swift.max(data.train.count, 1)
        print("""
        \(samples) networks per space inside \(DesignSpaceStudyChapter.defaultBand.replacingOccurrences(of: ":", with: "–")) million multiply-adds, each \
        trained for \(steps) steps of batch \(DesignSpaceStudyChapter.batchSize) with the study's recipe (\(StudyRecipe.paper.config(epochs: 1, batchSize: DesignSpaceStudyChapter.batchSize, side: DesignSpaceStudyChapter.defaultSide, seed: 0).optimizerDescription), cosine schedule) on \
        \(DesignSpaceStudyChapter.defaultSide)×\(DesignSpaceStudyChapter.defaultSide) images and scored on \(groupDigits(data.test.count)) test images.
        AnyNetX_E keeps all four rules; each VioNet breaks one:
        """)
        for p in DesignPrinciple.allCases { print("  VioNet-\(p.rawValue): \(p.violation)") }
        print()
        var groups: [(name: String, errors: [Double])] = []
        var records: [JSONValue] = []
        let spaces: [(String, (Int) throws -> DesignSpaceSampler.Sample)] = [("AnyNetX_E", { try sampler.sample(.e, index: $0, seed: run.seed) })]
            + DesignPrinciple.allCases.map { p in ("VioNet-\(p.rawValue)", { try sampler.sampleViolating(p, index: $0, seed: run.seed) }) }
        let start = ContinuousClock.now
        for (g, (name, draw)) in spaces.enumerated() {
            var errors: [Double] = []
            for index in 0..<samples {
                let sample = try draw(index)
                let t = ContinuousClock.now
                let error = try DesignSpaceStudyChapter.trainedError(sample.architecture, seed: run.seed &+ UInt64(index) &* 1_000 &+ UInt64(g),
                                                                      epochs: epochs, data: data)
                errors.append(error)
                let seconds = (ContinuousClock.now - t).seconds
                print(String(format: "%-11@ #%-2d %-44@ %5.2f MF  error %.3f  %.1f s", name, index, sample.architecture.description,
                             Double(sample.multiplyAdds) / 1e6, error, seconds))
                records.append(.object(["space": .string(name), "index": .number(Double(index)), "architecture": .string(sample.architecture.description),
                                        "macs": .number(Double(sample.multiplyAdds)), "params": .number(Double(sample.parameters)),
                                        "error": .number(error), "seconds": .number(seconds)]))
                if g == 0 && index == 0 {
                    let total = seconds * Double(samples * spaces.count)
                    print("(about \(formatDuration(total)) for all \(samples * spaces.count) networks at this rate)")
                }
            }
            groups.append((name, errors))
        }
        print()
        let stats = groups.map { (name: $0.name, s: ErrorStatistics($0.errors)) }
        print(alignedColumns([["space", "n", "min error", "mean ± s.e."]] + stats.map {
            [$0.name, "\($0.s.n)", String(format: "%.3f", $0.s.minError), String(format: "%.3f ± %.3f", $0.s.meanError, $0.s.standardError)]
        }, rightAligned: [1, 2, 3]).joined(separator: "\n") + "\n")
        let base = stats[0].s
        // Each VioNet's mean error minus E's, with a 95% bootstrap interval.
        let harms = groups.dropFirst().map { g in (name: g.name, delta: bootstrapMeanDifference(groups[0].errors, g.errors, seed: 11)) }
        let worst = harms.max { $0.delta.estimate < $1.delta.estimate }!
        let clear = harms.filter { $0.delta.sign == 1 }.map(\.name)
        Narration.say(String(format: """
        Mean error minus AnyNetX_E's %.3f, with 95%% bootstrap intervals: %@. The largest increase is %@'s \
        (%+.3f)%@; %@. The paper found sharing b and g harmless and increasing widths and depths helpful, \
        so it would expect VioNet-w and VioNet-d to be the worse ones; with %d networks per space and a \
        budget this short, only differences whose interval excludes 0 count.
        """, base.meanError, harms.map { String(format: "%@ %+.3f (%+.3f … %+.3f)", $0.name, $0.delta.estimate, $0.delta.low, $0.delta.high) }
            .joined(separator: ", "), worst.name, worst.delta.estimate, worst.delta.sign == 1 ? ", its interval above 0" : ", its interval containing 0",
            clear.isEmpty ? "no violation is clearly worse here" : "clearly worse: " + clear.joined(separator: ", "), samples))
        try run.draw(errorEDFPlot(groups, title: "AnyNetX_E and the VioNets: error EDFs"), to: "exercise-3.png")
        print("(\(formatDuration((ContinuousClock.now - start).seconds)) for \(samples * spaces.count) networks)\n")
        return ExerciseResult(json: ["samples": .number(Double(samples)), "steps": .number(Double(steps)),
                                     "networks": .array(records),
                                     "mean_error": .object(Dictionary(uniqueKeysWithValues: stats.map { ($0.name, JSONValue.number($0.s.meanError)) })),
                                     "difference_from_e": .object(Dictionary(uniqueKeysWithValues: harms.map {
                                         ($0.name, JSONValue.object(["mean": .number($0.delta.estimate), "low": .number($0.delta.low), "high": .number($0.delta.high)]))
                                     }))],
                              pictures: ["exercise-3.png"])
    }
}
