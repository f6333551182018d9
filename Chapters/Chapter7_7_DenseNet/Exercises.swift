import ChapterKit
import D2L
import Foundation
import Models

/// The exercises of 7.7 this program answers.
extension DenseNetChapter {
    static let exercises = [
        Exercise([1], .experiment, """
            Does DenseNet train as well with max pooling in its transition layers as with average pooling? \
            (both trained with the same data and budget, two seeds each)
            """, answer: transitionPooling),
        Exercise([2], .computed, "Why does DenseNet get by with far fewer parameters than ResNet?", answer: fewerParameters),
        Exercise([3], .computed, """
            Does DenseNet really need much memory? Measure a training step at 224×224, with and without the \
            recomputation that lets batch norm's input be kept once.
            """, answer: memoryAt224),
        .discussion(5, "How would DenseNet's idea carry over to an MLP, for example for house prices?", answer: {
            """
            Concatenate each dense layer's output to its input, so later layers see all earlier features, \
            with a small growth per layer; the house-price data of chapter 5 is not part of this project.
            """
        }),
        Exercise([4], .computed, "Build DenseNet-121 and DenseNet-169 from Table 1 of the DenseNet paper: shapes and parameters.",
                 answer: densenet121And169),
    ]

    static func densenet121And169(_ run: ChapterRun) throws -> ExerciseResult {
        for (name, blocks) in [("DenseNet-121", denseNet121Blocks), ("DenseNet-169", denseNet169Blocks)] {
            print("\(name): dense blocks of \(blocks.map(String.init).joined(separator: ", ")) bottleneck layers, growth rate 32")
            print(try denseNetBC(layersPerBlock: blocks).layerSummary(inputShape: [1, 1, 224, 224]).printout + "\n")
        }
        let ours = try NetworkComparison([("book's DenseNet", { denseNet() }),
                                          ("DenseNet-121", { denseNetBC(layersPerBlock: denseNet121Blocks) }),
                                          ("DenseNet-169", { denseNetBC(layersPerBlock: denseNet169Blocks) })], side: 224)
        let paper = try NetworkComparison([("DenseNet-121", { denseNetBC(layersPerBlock: denseNet121Blocks, classes: 1000) }),
                                           ("DenseNet-169", { denseNetBC(layersPerBlock: denseNet169Blocks, classes: 1000) })],
                                          side: 224, channels: 3)
        print(ours.table + "\n")
        print("As the paper builds them, for ImageNet's colour images and 1,000 classes:\n")
        print(paper.table + "\n")
        let (d121, d169) = (paper.row("DenseNet-121"), paper.row("DenseNet-169"))
        Narration.say(String(format: """
        For ImageNet DenseNet-121 has %@ parameters and DenseNet-169 %@ (the paper's 8.0 and 14.1 million, \
        torchvision's 7,978,856 and 14,149,480). Their layers are bottlenecks: a 1×1 convolution first cuts the \
        growing input to 4 × 32 channels, so a layer's 3×3 convolution costs the same however deep in the \
        block it sits. DenseNet-169 adds %d layers, %.0f%% more parameters, for %.0f%% more FLOPs.
        """, groupDigits(d121.parameters), groupDigits(d169.parameters),
            denseNet169Blocks.reduce(0, +) - denseNet121Blocks.reduce(0, +),
            100 * (Double(d169.parameters) / Double(d121.parameters) - 1), 100 * (Double(d169.flops) / Double(d121.flops) - 1)))
        return ExerciseResult(json: ["fashion_mnist": ours.json, "imagenet": paper.json])
    }

    /// Trains the book's DenseNet with average and with max pooling in the transitions, two
    /// seeds each; quick budget: 1 epoch of the first 20,000 images (the chapter's other settings).
    static func transitionPooling(_ run: ChapterRun) throws -> ExerciseResult {
        let config = run.exerciseConfig(epochs: 1, trainLimit: 20_000, testLimit: 2_000)
        let data = try run.loadData(trainLimit: config.trainLimit, testLimit: config.testLimit)
        let seeds = [config.seed, config.seed + 1]
        print("Each run: \(config.epochs) epoch\(config.epochs == 1 ? "" : "s") of \(groupDigits(data.train.count)) images at "
              + "\(config.resize)×\(config.resize), batch \(config.batchSize), lr \(config.learningRate); seeds \(seeds.map(String.init).joined(separator: " and ")).\n")
        var results: [(pooling: String, seed: UInt64, history: [EpochMetrics], seconds: Double)] = []
        for (pooling, maxPool) in [("average", false), ("max", true)] {
            for seed in seeds {
                var c = config
                c.seed = seed
                Random.seed(seed)
                let net = denseNet(transitionMaxPool: maxPool)
                net.initialize(.xavierUniform)
                let trainer = Trainer(net: net, data: data, config: c)
                trainer.quiet = true
                let start = ContinuousClock.now
                try trainer.fit()
                results.append((pooling, seed, trainer.history, (ContinuousClock.now - start).seconds))
                let last = trainer.history.last!
                print(String(format: "%-7@ pooling, seed %d: loss %.3f, train acc %.3f, test acc %.3f (%.0f s)",
                             pooling, seed, last.loss, last.trainAcc, last.testAcc, results.last!.seconds))
            }
        }
        print()
        func accuracies(_ pooling: String) -> [Double] { results.filter { $0.pooling == pooling }.map { $0.history.last!.testAcc } }
        let (average, maximum) = (accuracies("average"), accuracies("max"))
        func mean(_ v: [Double]) -> Double { v.reduce(0, +) / Double(v.count) }
        let spread = Swift.max(average.max()! - average.min()!, maximum.max()! - maximum.min()!)
        let difference = mean(average) - mean(maximum)
        let verdict = Swift.abs(difference) <= spread
            ? String(format: "a difference of %.3f, within the %.3f that the seed alone moves a result: at this budget the two train alike.", difference, spread)
            : String(format: "a difference of %.3f, more than the %.3f that the seed alone moves a result: %@ pooling is better here.",
                     difference, spread, difference > 0 ? "average" : "max")
        Narration.say(String(format: """
        Mean test accuracy %.3f with average pooling and %.3f with max pooling, %@ The book's reason for \
        average pooling: a transition should pass on all of the features a dense block piled up, as a smooth \
        downsampling, while max pooling keeps one value per window and drops the others' gradients.
        """, mean(average), mean(maximum), verdict))
        // The running training loss of every run, as train_ch6 plots it (five points per epoch).
        let series = results.enumerated().map { i, r in
            LinePlot.Series(name: "\(r.pooling) pooling, seed \(r.seed)", points: r.history.flatMap(\.trainPoints).map { (x: $0.epoch, y: $0.loss) },
                            color: RGB.palette[i % RGB.palette.count], dashed: r.pooling == "max")
        }
        var plot = LinePlot(title: "DenseNet: average or max pooling in the transitions", xLabel: "epoch",
                            yLabel: "running training loss", series: series)
        plot.xRange = (0, Double(config.epochs))
        try run.draw(plot.render(width: 720), to: "exercise-1.png")
        return ExerciseResult(json: ["runs": .array(results.map {
            .object(["pooling": .string($0.pooling), "seed": .number(Double($0.seed)), "test_acc": .number($0.history.last!.testAcc),
                     "loss": .number($0.history.last!.loss), "seconds": .number($0.seconds)])
        }), "mean_test_acc": .object(["average": .number(mean(average)), "max": .number(mean(maximum))]),
            "seed_spread": .number(spread)], pictures: ["exercise-1.png"])
    }

    /// Parameters of the two networks, and of their convolutions one by one.
    static func fewerParameters(_ run: ChapterRun) throws -> ExerciseResult {
        let c = try NetworkComparison([("ResNet-18", { resNet18() }), ("DenseNet", { denseNet() })], side: 96)
        print(c.table + "\n")
        func convolutions(_ net: Module) throws -> [Conv2d] {
            _ = try GradMode.withoutGrad { try net(Tensor.zeros([1, 1, 96, 96])) }
            return net.namedModules.compactMap { $0.1 as? Conv2d }
        }
        let resnet = try convolutions(resNet18()), densenet = try convolutions(denseNet())
        func describe(_ convs: [Conv2d]) -> (count: Int, meanOut: Double, largest: Int, largestShape: [Int]) {
            let big = convs.max { $0.parameterCount < $1.parameterCount }!
            return (convs.count, Double(convs.map(\.outChannels).reduce(0, +)) / Double(convs.count), big.parameterCount, big.weight!.shape)
        }
        let (r, d) = (describe(resnet), describe(densenet))
        print(alignedColumns([["network", "convolutions", "mean output channels", "largest convolution", "its weight shape"],
                              ["ResNet-18", "\(r.count)", String(format: "%.0f", r.meanOut), groupDigits(r.largest), "\(r.largestShape)"],
                              ["DenseNet", "\(d.count)", String(format: "%.0f", d.meanOut), groupDigits(d.largest), "\(d.largestShape)"]],
                             rightAligned: [1, 2, 3]).joined(separator: "\n") + "\n")
        Narration.say(String(format: """
        DenseNet has %.1f%% of ResNet-18's parameters (%@ against %@). A convolution's weights grow with the \
        product of its input and output channels. ResNet's convolutions output as many channels as their \
        stage is wide, %.0f on average and up to 512, so the largest holds %@ parameters. DenseNet's convolutions \
        in a dense block output only the growth rate, 32 channels, however many they read, because the block \
        concatenates instead of adding: each layer adds a few new features and reuses the earlier ones \
        instead of recomputing them, and the transition layers halve the channels between blocks. Its largest \
        convolution holds %@.
        """, 100 * Double(c.row("DenseNet").parameters) / Double(c.row("ResNet-18").parameters),
            groupDigits(c.row("DenseNet").parameters), groupDigits(c.row("ResNet-18").parameters),
            r.meanOut, groupDigits(r.largest), groupDigits(d.largest)))
        return ExerciseResult(json: c.json.objectValue.merging([
            "largest_convolution": .object(["ResNet-18": .number(Double(r.largest)), "DenseNet": .number(Double(d.largest))]),
            "mean_output_channels": .object(["ResNet-18": .number(r.meanOut), "DenseNet": .number(d.meanOut)]),
        ]) { a, _ in a })
    }
}
