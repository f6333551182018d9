import D2L
import Foundation
import Models

/// The narration of section 7.5, top to bottom.
struct BatchNormChapter {
    let run: ChapterRun
    let settings: ResolvedSettings

    func tell() throws {
        Narration.section("7.5 Batch Normalization")
        Narration.say("""
        Deep networks are hard to train: as the parameters of early layers change, the inputs of \
        later layers drift, and a step size that suits one layer may be too large for another. \
        Batch normalization (Ioffe & Szegedy, 2015) standardises a layer's inputs over the current \
        minibatch B and then lets the network rescale and shift them with learned parameters:
            BN(x) = γ ⊙ (x − μ̂_B) / σ̂_B + β,   σ̂²_B = mean((x − μ̂_B)²) + ε.
        After a fully connected layer the statistics are taken per feature over the batch; after a \
        convolution, per channel over the batch and all positions. In prediction mode the layer uses \
        running averages collected during training instead, so a prediction does not depend on the \
        other examples in the batch.
        """)

        try fromScratchDemo()
        let summary = try lenetSummary()
        if run.options.summaryOnly { return }
        let data = try run.loadData(settings)
        try train(data: data, summary: summary)
    }

    // MARK: 7.5.2 From scratch

    func fromScratchDemo() throws {
        Narration.section("7.5.2 Implementation from scratch")
        Narration.say("""
        `batch_norm` is written with tensor operations only (mean, subtraction, square, square root), \
        so reverse-mode autograd works out its gradient, exactly as in the book. A `BatchNorm` layer \
        around it holds γ (ones), β (zeros) and the moving mean and variance (zeros and ones), updated \
        as moving ← 0.9·moving + 0.1·batch statistic.
        """)
        var g = SeededGenerator(seed: settings.seed &+ 7)
        let x = Tensor(shape: [4, 3], data: (0..<12).map { _ in 3 + 2 * g.normal() })
        let bn = ScratchBatchNorm(3, numDims: 2)
        let y = try bn(x)
        let mean = y.mean(axes: [0]), variance = (y - mean).squared().mean(axes: [0])
        print("A (4, 3) batch with feature means \(list(x.mean(axes: [0]).data)) goes through batch_norm in training mode:")
        print("  output feature means     \(list(mean.data))")
        print("  output feature variances \(list(variance.data, decimals: 6))  (σ²/(σ² + ε): ε = 1e-5 keeps them just under 1)")
        print("  moving mean after one step \(list(bn.movingMean.data))  (= 0.1 × batch mean)")
        print()
    }

    // MARK: 7.5.3 LeNet with batch normalization

    func lenetSummary() throws -> LayerSummary {
        Narration.section("7.5.3 Applying batch normalization in LeNet")
        Narration.say("""
        Batch normalization goes after each convolution or fully connected layer and before its \
        sigmoid. The layers infer their input sizes on the first call (like PyTorch's lazy layers), \
        so one sample image shows the shapes:
        """)
        Random.seed(settings.seed)
        let net = bnLeNetScratch()
        let side = settings.train.resize
        let summary = try net.layerSummary(inputShape: [1, 1, side, side])
        print(summary.printout)
        print()
        print(summary.table)
        let bnValues = net.namedParameters.filter { $0.0.hasSuffix("gamma") || $0.0.hasSuffix("beta") }.reduce(0) { $0 + $1.1.count }
        print("\n\(groupDigits(summary.totalParameters)) trainable parameters, of which \(bnValues) are γ and β;"
              + " the moving statistics add \(net.namedBuffers.reduce(0) { $0 + $1.1.count }) more values.\n")
        run.metrics.results["parameters"] = .number(Double(summary.totalParameters))
        return summary
    }

    // MARK: Training both versions

    func train(data: FashionMNIST, summary: LayerSummary) throws {
        let cfg = settings.train
        print("Training with lr \(cfg.learningRate), batch size \(cfg.batchSize), \(cfg.epochs) epochs, "
              + "\(cfg.resize)×\(cfg.resize) images, Xavier initialisation, plain SGD (\(settings.profileName) profile).")
        let trimmed = settings.differencesFromBook
        if trimmed.isEmpty {
            print("These are the book's settings (zh 2.0.0).\n")
        } else {
            print("Differs from the book: \(trimmed.joined(separator: "; ")). `--full` runs the book's settings.\n")
        }

        Random.seed(settings.seed)
        let scratch = bnLeNetScratch()
        scratch.initialize(.xavierUniform)
        let scratchTrainer = Trainer(net: scratch, data: data, config: cfg, label: "scratch")
        try fit(scratchTrainer, key: "scratch", others: [])
        print(scratchTrainer.resultLines)
        print("(the book, zh 2.0.0 on a V100 GPU: loss 0.273, train acc 0.899, test acc 0.807)\n")

        let first = scratch.layers[1] as! ScratchBatchNorm
        print("γ and β of the first batch-norm layer after training:")
        print("  gamma \(list(first.gamma.data))")
        print("  beta  \(list(first.beta.data))\n")
        run.metrics.results["first_bn_gamma"] = .array(first.gamma.data.map { .number(Double($0)) })
        run.metrics.results["first_bn_beta"] = .array(first.beta.data.map { .number(Double($0)) })

        Narration.section("7.5.4 Concise implementation")
        Narration.say("""
        The core's `BatchNorm` does the same in one fused kernel with a hand-written backward pass; \
        it infers from its first input whether it is a `BatchNorm2d` or a `BatchNorm1d`. Like \
        PyTorch it stores the unbiased batch variance in its running variance. Same seed, so the \
        same initial weights:
        """)
        Random.seed(settings.seed)
        let concise = bnLeNet()
        concise.initialize(.xavierUniform)
        let conciseTrainer = Trainer(net: concise, data: data, config: cfg, label: "concise")
        try fit(conciseTrainer, key: "concise", others: [("scratch", scratchTrainer.history)])
        print(conciseTrainer.resultLines)
        print("(the book, zh 2.0.0 on a V100 GPU: loss 0.267, train acc 0.902, test acc 0.708)\n")

        try compareImplementations(data: data)

        Narration.section("Pictures")
        let (testImage, testLabel) = data.test.batch(data.test.batches(size: 1)[0], resize: BilinearResize(from: data.test.height, to: cfg.resize))
        let conv1 = (concise.layers[0] as! Conv2d).weight!
        try filterGrid(conv1, title: "LeNet+BN: first convolution, \(conv1.shape[0]) filters 5x5")
            .writePNG(to: run.path("filters.png"))
        try featureMapGrid(input: testImage, stages: try stages(of: concise, for: testImage),
                           title: "A test image (\(FashionMNIST.classNames[Int(testLabel[0])])) through LeNet+BN")
            .writePNG(to: run.path("feature-maps.png"))
        try writeCurves([("scratch", scratchTrainer.history), ("concise", conciseTrainer.history)])
        run.metrics.examplesPerSec = conciseTrainer.examplesPerSec
        run.metrics.results["examples_per_sec_scratch"] = .number(scratchTrainer.examplesPerSec)
        run.metrics.results["examples_per_sec_concise"] = .number(conciseTrainer.examplesPerSec)
        try run.writeMetrics(status: "finished")
        for file in ["filters.png", "feature-maps.png", "training-curves.png", "metrics.json"] {
            print("wrote \(run.path(file))")
        }
        print(String(format: "\ntotal wall time %.1f s", run.wallSeconds))
    }

    /// Trains, writing metrics and curves after every epoch; on divergence keeps what was written.
    private func fit(_ trainer: Trainer, key: String, others: [(String, [EpochMetrics])]) throws {
        do {
            try trainer.fit { _ in
                run.metrics.results["history_" + key] = .array(trainer.history.map(epochJSON))
                run.metrics.epochs = trainer.history
                try writeCurves(others + [(key, trainer.history)])
                try run.writeMetrics()
            }
        } catch let e as DivergenceError {
            try? run.writeMetrics(status: "diverged")
            throw e
        }
        run.metrics.results["examples_per_sec_" + key] = .number(trainer.examplesPerSec)
    }

    private func writeCurves(_ runs: [(String, [EpochMetrics])]) throws {
        try trainingCurves(runs.map { (name: $0.0, history: $0.1) }, title: "LeNet with batch normalization")
            .writePNG(to: run.path("training-curves.png"))
    }

    /// Activations of one image after each sigmoid and pooling of the convolutional part.
    private func stages(of net: Sequential, for image: Tensor) throws -> [(String, Tensor)] {
        net.eval()
        defer { net.train() }
        var x = image
        var out: [(String, Tensor)] = []
        let names = [2: "conv1+BN+sigmoid", 3: "avg pool 1", 6: "conv2+BN+sigmoid", 7: "avg pool 2"]
        try GradMode.withoutGrad {
            for (i, layer) in net.layers.enumerated() where i <= 7 {
                x = try layer(x)
                if let name = names[i] { out.append((name, x)) }
            }
        }
        return out
    }

    // MARK: Scratch vs fused, number by number

    func compareImplementations(data: FashionMNIST) throws {
        Narration.section("Scratch versus fused, number by number")
        Narration.say("""
        Beyond the book: the two implementations should compute the same function. Both networks get \
        identical weights and the same batch of training images; we compare the outputs in training \
        mode, the gradients with respect to the input and every γ and β, the running statistics after \
        three SGD steps, and the outputs in prediction mode.
        """)
        let resize = BilinearResize(from: data.train.height, to: settings.train.resize)
        let (images, labels) = data.train.batch(data.train.batches(size: settings.train.batchSize)[0], resize: resize)
        let cmp = try BatchNormComparison.run(images: images, labels: labels, lr: settings.train.learningRate, seed: settings.seed)
        for line in cmp.lines { print(line) }
        print()
        run.metrics.results["bn_compare"] = .object(cmp.json)
    }

    private func epochJSON(_ m: EpochMetrics) -> JSONValue {
        .object(["epoch": .number(Double(m.epoch)), "loss": .number(m.loss), "train_acc": .number(m.trainAcc),
                 "test_acc": .number(m.testAcc), "train_seconds": .number(m.trainSeconds)])
    }
}

/// `[0.4863, 2.8573, …]`; values that round to zero print as 0 (never "-0.0000").
func list(_ values: [Float], decimals: Int = 4) -> String {
    "[" + values.map { v in
        let s = String(format: "%.\(decimals)f", v)
        return Double(s) == 0 ? String(format: "%.\(decimals)f", 0.0) : s
    }.joined(separator: ", ") + "]"
}
