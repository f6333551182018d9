import ChapterKit
import D2L
import Foundation
import Models

/// The exercises of 7.1 that train networks. Every variant of one exercise trains with the
/// same seed and the same images; the quick budgets keep each exercise to a few minutes on
/// two cores, at the chapter's quick resolution (67×67), and --full uses the book's settings.
extension AlexNetChapter {
    /// Exercise 4: AlexNet (the chapter's settings) and the book's LeNet (its own settings from
    /// section 6.6: lr 0.9, batch 256, 28×28) for the same epochs over the same images.
    /// Quick: 4 epochs of 6,000 images.
    static func moreEpochs(_ run: ChapterRun) throws -> ExerciseResult {
        let config = run.exerciseConfig(epochs: 4, trainLimit: 6_000, testLimit: 2_000)
        let data = try run.loadData(trainLimit: config.trainLimit, testLimit: config.testLimit)
        let study = try VariantTraining([("AlexNet", { alexNet() }), ("LeNet", { leNet() })], config: config, data: data) { name, c in
            if name == "LeNet" { c.learningRate = 0.9; c.batchSize = 256; c.resize = 28 }
        }
        print(study.table + "\n")
        let (a, l) = (study.runs(of: "AlexNet")[0].history, study.runs(of: "LeNet")[0].history)
        func gain(_ h: [EpochMetrics]) -> Double { (h.last?.testAcc ?? 0) - (h.first?.testAcc ?? 0) }
        Narration.say(String(format: """
        After epoch 1 AlexNet is at %.3f and LeNet at %.3f; after epoch %d at %.3f and %.3f (AlexNet %+.3f \
        over the extra epochs, LeNet %+.3f). AlexNet's ReLUs, its width and its dropout let it learn from few \
        passes, while the sigmoid LeNet spends its first epochs on the plateau where the sigmoids' gradients \
        are small; more epochs help the network that is further from its capacity. Per image, AlexNet costs \
        %.0f× LeNet's training time here.
        """, a.first?.testAcc ?? 0, l.first?.testAcc ?? 0, config.epochs, a.last?.testAcc ?? 0, l.last?.testAcc ?? 0,
            gain(a), gain(l), study.imagesPerSecond("LeNet") / Swift.max(study.imagesPerSecond("AlexNet"), 1)))
        try run.draw(study.accuracyCurves(title: "AlexNet and LeNet: test accuracy after each epoch"), to: "exercise-4.png")
        return ExerciseResult(json: study.json.objectValue, pictures: ["exercise-4.png"])
    }

    /// Exercise 5: `alexNet28()` on the 28×28 originals against AlexNet on images resized to
    /// the chapter's side (quick: 67), same images and settings. Quick: 1 epoch of 15,000 images.
    static func smallAlexNet(_ run: ChapterRun) throws -> ExerciseResult {
        let config = run.exerciseConfig(epochs: 1, trainLimit: 15_000, testLimit: 2_000)
        let data = try run.loadData(trainLimit: config.trainLimit, testLimit: config.testLimit)
        print(try alexNet28().layerSummary(inputShape: [1, 1, 28, 28]).printout + "\n")
        let original = "AlexNet at \(config.resize)×\(config.resize)", small = "AlexNet for 28×28"
        let study = try VariantTraining([(original, { alexNet() }), (small, { alexNet28() })], config: config, data: data) { name, c in
            if name == small { c.resize = 28 }
        }
        print(study.table + "\n")
        let flops = [try alexNet().layerSummary(inputShape: [1, 1, config.resize, config.resize]).totalFlops,
                     try alexNet28().layerSummary(inputShape: [1, 1, 28, 28]).totalFlops]
        Narration.say(String(format: """
        %@. It has %.0f%% of the original's parameters and needs %@FLOPs per image against %@FLOPs, and trains \
        %.2f× as fast per image. Most of AlexNet's parameters sit in its dense layers, whose size follows \
        from what the convolutions leave of the image; the small version keeps a 3×3 map for them instead of \
        the original's 1×1 at this side, and does not need to enlarge every image %.1f-fold in area first.
        """, study.compare(small, with: original), 100 * Double(study.parameters(small)) / Double(study.parameters(original)),
            formatFlops(flops[1]), formatFlops(flops[0]), study.imagesPerSecond(small) / Swift.max(study.imagesPerSecond(original), 1),
            Double(config.resize * config.resize) / 784))
        try run.draw(study.chart(title: "AlexNet resized, or built for 28×28"), to: "exercise-5.png")
        var json = study.json.objectValue
        json["forward_flops"] = .object([original: .number(Double(flops[0])), small: .number(Double(flops[1]))])
        return ExerciseResult(json: json, pictures: ["exercise-5.png"])
    }

    static let batchSizes = [16, 32, 64, 128, 256]

    /// Exercise 6: one epoch over the same images at each batch size (same learning rate).
    /// Quick: 6,400 images at 67×67; --full: all of them at 224×224.
    static func batchSizeSweep(_ run: ChapterRun) throws -> ExerciseResult {
        let config = run.exerciseConfig(epochs: 1, trainLimit: 6_400, testLimit: 2_000)
        let data = try run.loadData(trainLimit: config.trainLimit, testLimit: config.testLimit)
        let names = batchSizes.map { "batch \($0)" }
        let study = try VariantTraining(names.map { ($0, { alexNet() }) }, config: config, data: data) { name, c in
            c.batchSize = batchSizes[names.firstIndex(of: name)!]
        }
        print(study.table + "\n")
        // What one training step keeps for backward at each batch size (measured on the graph),
        // next to the weights, their gradients and the step's workspaces, which do not grow with it.
        let kept = try batchSizes.map { b -> Double in
            Random.seed(config.seed)
            let net = alexNet()
            net.initialize(.xavierUniform)
            return Double(try StepMemory.measure(net, batch: b, side: config.resize, training: true).savedForBackwardBytes)
        }
        print(alignedColumns([["batch", "kept for backward by one training step"]] + zip(batchSizes, kept).map {
            ["\($0.0)", String(format: "%.1f MB", $0.1 / 1e6)]
        }, rightAligned: [0, 1]).joined(separator: "\n") + "\n")
        let weights = Double(study.parameters(names[0]) * 4)
        let speeds = names.map(study.imagesPerSecond), accuracies = names.map(study.testAccuracy)
        let fastest = speeds.indices.max { speeds[$0] < speeds[$1] }!, best = accuracies.indices.max { accuracies[$0] < accuracies[$1] }!
        Narration.say(String(format: """
        Throughput rises from %.0f images/s at batch %d to %.0f at batch %d (fastest: batch %d, %.0f images/s): \
        larger batches make larger matrix products, which use the cores better. What a training step keeps \
        for backward grows in proportion to the batch, from %.1f MB to %.1f MB, on top of %.0f MB of weights and \
        as much again for their gradients, which do not grow. Accuracy after one epoch is best at batch %d \
        (%.3f) and %.3f at batch %d: with the learning rate fixed, a larger batch takes fewer steps over the \
        same images (%d against %d).
        """, speeds.first!, batchSizes.first!, speeds.last!, batchSizes.last!, batchSizes[fastest], speeds[fastest],
            kept.first! / 1e6, kept.last! / 1e6, weights / 1e6, batchSizes[best], accuracies[best], accuracies.last!, batchSizes.last!,
            (data.train.count + batchSizes.last! - 1) / batchSizes.last!, (data.train.count + batchSizes.first! - 1) / batchSizes.first!))
        let chart = barChart(labels: names, panels: [
            ("training img/s", speeds, { String(format: "%.0f", $0) }),
            ("test accuracy", accuracies, { String(format: "%.3f", $0) }),
            ("kept for backward", kept, { String(format: "%.1f MB", $0 / 1e6) })],
            title: "AlexNet: the batch size against speed, accuracy and memory",
            subtitle: "1 epoch of \(groupDigits(data.train.count)) images at \(config.resize)×\(config.resize), lr \(config.learningRate)")
        try run.draw(chart, to: "exercise-6.png")
        var json = study.json.objectValue
        json["saved_for_backward_bytes"] = .object(Dictionary(uniqueKeysWithValues: zip(batchSizes, kept).map { ("\($0.0)", JSONValue.number($0.1)) }))
        return ExerciseResult(json: json, pictures: ["exercise-6.png"])
    }

    /// The learning rate of the ReLU versions (a variant checks the sigmoid's 0.9 with ReLU).
    static let reluLeNetLearningRate: Float = 0.1

    /// Exercise 7: the book's LeNet (sigmoid, section 6.6's settings: lr 0.9, batch 256, 28×28)
    /// with ReLU (lr 0.1, and at the sigmoid's 0.9), with dropout 0.5 after its hidden dense
    /// layers, and with both; two seeds each. Quick: 10 epochs of 30,000 images; --full: all 60,000.
    static func leNetReLUAndDropout(_ run: ChapterRun) throws -> ExerciseResult {
        let config = run.exerciseConfig(epochs: 10, trainLimit: 30_000, testLimit: nil, learningRate: 0.9, batchSize: 256, resize: 28)
        let data = try run.loadData(trainLimit: config.trainLimit, testLimit: config.testLimit)
        let variants: [(String, () -> Module)] = [
            ("sigmoid (the book's)", { leNet() }), ("ReLU", { leNet(activation: .relu) }),
            ("sigmoid + dropout", { leNet(dropout: 0.5) }), ("ReLU + dropout", { leNet(activation: .relu, dropout: 0.5) })]
        let reluAtSigmoidRate = "ReLU at lr \(config.learningRate)"
        let study = try VariantTraining(variants + [(reluAtSigmoidRate, { leNet(activation: .relu) })], config: config, data: data,
                                        seeds: [config.seed, config.seed + 1], quiet: true) { name, c in
            if name.hasPrefix("ReLU") && name != reluAtSigmoidRate && run.options.lr == nil { c.learningRate = reluLeNetLearningRate }
        }
        print(study.table + "\n")
        let base = variants[0].0
        let best = study.variants.max { study.testAccuracy($0) < study.testAccuracy($1) }!
        let gaps = study.variants.map { String(format: "%@ %.3f", $0, study.trainAccuracy($0) - study.testAccuracy($0)) }
        Narration.say("""
        \(study.compare("ReLU", with: base)). \(study.compare("sigmoid + dropout", with: base)). \
        \(study.compare("ReLU + dropout", with: base)). Best here: \(best). ReLU passes gradients unchanged \
        where it is active, where a sigmoid scales them by at most 1/4 per layer, so the ReLU network learns \
        fast; it trains here at lr \(reluLeNetLearningRate), and at the sigmoid network's rate it \
        \(study.failedToLearn(reluAtSigmoidRate) ? "does not learn at all: large first steps push its units where they output 0 for every image, and a dead ReLU passes no gradient"
            : String(format: "reaches %.3f", study.testAccuracy(reluAtSigmoidRate))). Dropout regularises, which pays off only once a network fits its \
        training images better than the test images; train minus test accuracy here: \(gaps.joined(separator: ", ")). \
        Preprocessing is the other lever the exercise mentions: the pixels are scaled to [0, 1], as the \
        book's loader does; standardising them is what batch normalization (section 7.5) does inside.
        """)
        try run.draw(study.accuracyCurves(title: "LeNet-5 with ReLU and dropout: test accuracy"), to: "exercise-7.png")
        return ExerciseResult(json: study.json.objectValue, pictures: ["exercise-7.png"])
    }

    /// Exercise 8: AlexNet with and without dropout, on few images for several epochs so that it
    /// can memorise them; accuracy on those training images (evaluation mode) against test.
    /// Quick: 24 epochs of 1,000 images at 67×67, batch 32 (750 steps).
    static func overfitting(_ run: ChapterRun) throws -> ExerciseResult {
        let config = run.exerciseConfig(epochs: 24, trainLimit: 1_000, testLimit: 2_000, batchSize: run.settings.profile == "full" ? nil : 32)
        let data = try run.loadData(trainLimit: config.trainLimit, testLimit: config.testLimit)
        let study = try VariantTraining([("with dropout 0.5", { alexNet() }), ("without dropout", { alexNet(dropout: 0) })],
                                        config: config, data: data, evaluateTrainingSet: true)
        print(study.table + "\n")
        func gap(_ v: String) -> Double { (study.trainEvalAccuracy(v) ?? 0) - study.testAccuracy(v) }
        let (with, without) = (gap("with dropout 0.5"), gap("without dropout"))
        Narration.say(String(format: """
        On its %@ training images AlexNet ends at %.3f accuracy with dropout and %.3f without; on the test images \
        at %.3f and %.3f. The gap between the two, overfitting, is %.3f with dropout and %.3f without%@. \
        With %@ parameters against %@ images, a network can memorise its training set; \
        dropout, the only regulariser AlexNet has, makes memorising harder because no unit can count on \
        another. %@
        """, groupDigits(data.train.count), study.trainEvalAccuracy("with dropout 0.5") ?? 0, study.trainEvalAccuracy("without dropout") ?? 0,
            study.testAccuracy("with dropout 0.5"), study.testAccuracy("without dropout"), with, without,
            without - with > 0.02 ? ": removing dropout widens it, as the book expects"
                : (without > with ? ": removing dropout widens it, but only slightly at this budget" : ": here removing dropout did not widen it"),
            groupDigits(study.parameters("with dropout 0.5")), groupDigits(data.train.count),
            (study.trainEvalAccuracy("without dropout") ?? 0) < 0.9
                ? String(format: "At this budget it has not memorised them yet (%.3f on its own training images without dropout): overfitting shows once a network fits its training set, so more epochs (--epochs) would show it.",
                         study.trainEvalAccuracy("without dropout") ?? 0)
                : "It has memorised most of them, so the gap above is what dropout holds back."))
        try run.draw(study.accuracyCurves(title: "AlexNet on \(groupDigits(data.train.count)) images, with and without dropout"), to: "exercise-8.png")
        var json = study.json.objectValue
        json["gap"] = .object(["with_dropout": .number(with), "without_dropout": .number(without)])
        return ExerciseResult(json: json, pictures: ["exercise-8.png"])
    }
}
