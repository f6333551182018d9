import ChapterKit
import D2L
import Foundation
import Models

/// The exercises of 7.5 this program answers.
extension BatchNormChapter {
    static let exercises = [
        Exercise([1], .computed, "Does a convolution or a dense layer need its bias when batch normalization follows it?",
                 answer: biasBeforeBN),
        Exercise([2], .experiment, """
            How large can the learning rate of LeNet be with batch normalization and without it, before \
            training fails? (a sweep of learning rates, both networks with the same seed, data and budget)
            """, answer: learningRateSweep),
        .discussion(7, "Which other normalizations could one apply?", answer: {
            """
            Normalize over other axes: layer normalization (each example over its features, shown in 7.5.2), \
            instance normalization (each channel of each example), group normalization (groups of channels), \
            or normalize the weights instead of the activations (weight normalization); none needs a batch.
            """
        }),
        Exercise([3], .experiment, "Does LeNet need batch normalization after every layer, or do some layers suffice?",
                 answer: whereToNormalize),
        Exercise([4], .experiment, """
            Lite batch normalization: what if a layer only subtracts the batch mean, or only divides by the \
            batch standard deviation?
            """, answer: liteBatchNorm),
        Exercise([5], .experiment, "What if β and γ are fixed at 0 and 1 instead of learned?", answer: fixedScaleAndShift),
        Exercise([6], .experiment, "Can batch normalization replace dropout? LeNet with one, the other, both or neither.",
                 answer: dropoutOrBatchNorm),
    ]

    /// Shifts every bias that feeds a batch norm by a random amount and compares the outputs
    /// (training mode, so batch statistics), and the gradient those biases receive.
    static func biasBeforeBN(_ run: ChapterRun) throws -> ExerciseResult {
        let data = try run.loadData(trainLimit: 256, testLimit: 1)
        let resize = BilinearResize(from: data.train.height, to: 28)
        let (x, labels) = data.train.batch(data.train.batches(size: 256)[0], resize: resize)
        Random.seed(run.seed)
        let net = bnLeNet()
        net.initialize(.xavierUniform)
        _ = try GradMode.withoutGrad { try net(x) }
        // The layers right before a batch norm, and their biases.
        let beforeBN = zip(net.layers, net.layers.dropFirst()).filter { $0.1 is BatchNorm }.map(\.0)
        let biases = beforeBN.compactMap { ($0 as? Conv2d)?.bias ?? ($0 as? Linear)?.bias }
        let logits = try net(x)
        crossEntropy(logits, labels: labels).backward()
        let gradients = biases.map { $0.grad ?? [] }
        let weightGradient = net.parameters.filter { p in !biases.contains { $0 === p } }.compactMap(\.grad).flatMap { $0 }
        net.parameters.forEach { $0.zeroGrad() }
        var g = SeededGenerator(seed: run.seed &+ 5)
        for b in biases { b.data = b.data.map { $0 + g.uniform(-3, 3) } }
        let shifted = try net(x)
        let outputChange = maxAbsDiff(logits.data, shifted.data)
        let biasGradient = gradients.flatMap { $0 }.map { Swift.abs($0) }.max() ?? 0
        let typicalGradient = weightGradient.map { Swift.abs($0) }.reduce(0, +) / Float(Swift.max(weightGradient.count, 1))
        print(alignedColumns([["", "value"],
                              ["layers followed by batch norm", "\(beforeBN.count) (\(biases.map(\.count).reduce(0, +)) bias values)"],
                              ["largest change of the logits after shifting those biases by up to ±3", String(format: "%.2e", outputChange)],
                              ["largest |∂loss/∂bias| of those biases", String(format: "%.2e", biasGradient)],
                              ["mean |∂loss/∂w| of the other parameters", String(format: "%.2e", typicalGradient)]],
                             rightAligned: [1]).joined(separator: "\n") + "\n")
        guard outputChange < 1e-3 else {
            Narration.say(String(format: "Shifting those biases changed the logits by %.2e: here they do not cancel, against what the book expects.",
                                 Double(outputChange)))
            return ExerciseResult(json: ["max_logit_change": .number(Double(outputChange))])
        }
        Narration.say(String(format: """
        Shifting the biases of the %d layers that feed a batch norm by up to ±3 changes the logits by at most \
        %.1e, float rounding, and those biases receive gradients of at most %.1e against a mean of %.1e for \
        the other parameters. Batch normalization subtracts the batch mean, which contains the bias, so the \
        bias cancels: it can be dropped (bias=False in PyTorch, as the paper's models do), and β takes its \
        place. In prediction mode the running mean absorbs it the same way once trained.
        """, beforeBN.count, Double(outputChange), Double(biasGradient), Double(typicalGradient)))
        return ExerciseResult(json: ["layers_before_bn": .number(Double(beforeBN.count)), "max_logit_change": .number(Double(outputChange)),
                                     "max_bias_gradient": .number(Double(biasGradient)), "mean_other_gradient": .number(Double(typicalGradient))])
    }

    static let sweep: [Float] = [0.01, 0.03, 0.1, 0.3, 1, 3, 10, 30, 100]
    /// A run "fails" when it diverges or ends below this test accuracy.
    static let failureAccuracy = 0.5

    /// Trains both LeNets at every learning rate of `sweep`: the quick budget is 4 epochs of the
    /// first 30,000 training images (--full: the book's 10 epochs of all 60,000).
    static func learningRateSweep(_ run: ChapterRun) throws -> ExerciseResult {
        let config = run.exerciseConfig(epochs: 4, trainLimit: 30_000, testLimit: 2_000)
        let data = try run.loadData(trainLimit: config.trainLimit, testLimit: config.testLimit)
        print("Each run: \(config.epochs) epoch\(config.epochs == 1 ? "" : "s") of \(groupDigits(data.train.count)) images, batch \(config.batchSize), "
              + "test on \(groupDigits(data.test.count)); \(sweep.count) learning rates × 2 networks, seed \(config.seed).\n")
        var results: [(lr: Float, network: String, accuracy: Double?, seconds: Double)] = []
        for lr in sweep {
            for (name, make) in [("with BN", { bnLeNet() }), ("without BN", { leNetWithoutBN() })] as [(String, () -> Sequential)] {
                var c = config
                c.learningRate = lr
                Random.seed(c.seed)
                let net = make()
                net.initialize(.xavierUniform)
                let trainer = Trainer(net: net, data: data, config: c)
                trainer.quiet = true
                let start = ContinuousClock.now
                var accuracy: Double?
                do {
                    try trainer.fit()
                    accuracy = trainer.history.last?.testAcc
                } catch is DivergenceError {
                    accuracy = nil
                }
                results.append((lr, name, accuracy, (ContinuousClock.now - start).seconds))
            }
            if results.count == 2 {
                let first = results.map(\.seconds).reduce(0, +)
                print("(the first rate took \(formatDuration(first)); all \(sweep.count) should take about \(formatDuration(first * Double(sweep.count))))")
            }
            let row = results.suffix(2).map { r in r.accuracy.map { String(format: "%.3f", $0) } ?? "diverged" }
            print(String(format: "lr %-6g  with BN %-9@  without BN %@", Double(lr), row[0], row[1]))
        }
        print()
        func largest(_ name: String) -> Float? {
            results.filter { $0.network == name && ($0.accuracy ?? 0) >= failureAccuracy }.map(\.lr).max()
        }
        func best(_ name: String) -> (lr: Float, accuracy: Double)? {
            results.filter { $0.network == name && $0.accuracy != nil }.max { $0.accuracy! < $1.accuracy! }.map { ($0.lr, $0.accuracy!) }
        }
        let (withBN, withoutBN) = (largest("with BN"), largest("without BN"))
        func describe(_ lr: Float?) -> String { lr.map { String(format: "%g", Double($0)) } ?? "none of the rates" }
        var conclusion = "Training counts as failed when it diverges or ends below \(failureAccuracy) test accuracy. "
            + "The largest learning rate that still trains is \(describe(withBN)) with batch normalization and \(describe(withoutBN)) without. "
        if let a = best("with BN"), let b = best("without BN") {
            conclusion += String(format: "The best runs reach %.3f (with BN, lr %g) and %.3f (without, lr %g). ", a.accuracy, Double(a.lr), b.accuracy, Double(b.lr))
        }
        let steps = config.epochs * ((data.train.count + config.batchSize - 1) / config.batchSize)
        if withBN != nil && withoutBN == nil {
            conclusion += "Without batch normalization no rate leaves chance level within \(groupDigits(steps)) steps: the sigmoid network "
                + "sits on its initial plateau, which batch normalization removes. --full trains at the book's scale."
        }
        if let w = withBN, let wo = withoutBN {
            conclusion += w > wo ? String(format: "Batch normalization tolerates %gx the learning rate, as the book expects.", Double(w / wo))
                : (w == wo ? "Both tolerate the same largest rate here, unlike what the book expects." : "Here the network without batch normalization tolerates the larger rate, contrary to the book's expectation.")
        }
        Narration.say(conclusion)
        let series = ["with BN", "without BN"].enumerated().map { i, name in
            LinePlot.Series(name: name, points: results.filter { $0.network == name }.map { (x: log10(Double($0.lr)), y: $0.accuracy ?? 0) },
                            color: RGB.palette[i])
        }
        var plot = LinePlot(title: "LeNet: test accuracy against the learning rate", xLabel: "log10(learning rate); diverged runs at 0",
                            yLabel: "test accuracy", series: series, yRange: (0, 1))
        plot.xMinStep = 1
        try run.draw(plot.render(), to: "exercise-2.png")
        return ExerciseResult(json: [
            "epochs": .number(Double(config.epochs)), "train_images": .number(Double(data.train.count)),
            "runs": .array(results.map { .object(["lr": .number(Double($0.lr)), "network": .string($0.network),
                                                  "test_acc": $0.accuracy.map(JSONValue.number) ?? .null, "seconds": .number($0.seconds)]) }),
            "largest_working_lr": .object(["with_bn": withBN.map { .number(Double($0)) } ?? .null,
                                           "without_bn": withoutBN.map { .number(Double($0)) } ?? .null]),
        ], pictures: ["exercise-2.png"])
    }
}
