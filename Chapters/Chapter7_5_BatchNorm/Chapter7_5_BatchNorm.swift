import ArgumentParser
import ChapterKit
import D2L
import Experiments
import Foundation
import Models

/// D2L zh 7.5 / en 8.5, "Batch Normalization", as a narrated program.
@main
struct BatchNormChapter: Chapter {
    static let configuration = CommandConfiguration(
        commandName: "Chapter7_5_BatchNorm",
        abstract: "Batch normalization: from scratch with autograd, then the fused layer, compared number by number.",
        discussion: """
        Trains LeNet with the book's from-scratch BatchNorm and with the core's fused BatchNorm on
        Fashion-MNIST, prints the book's result lines, compares the two implementations value by value,
        and writes filters.png, feature-maps.png, training-curves.png and metrics.json to the out dir.
        """)
    static let section = "7.5"

    /// zh 2.0.0: lr 1.0, batch 256, 10 epochs, 28×28, Xavier.
    static let book = TrainConfig(epochs: 10, batchSize: 256, learningRate: 1.0, resize: 28)
    /// Quick default: fewer epochs, everything else as the book.
    static let quick = TrainConfig(epochs: 3, batchSize: 256, learningRate: 1.0, resize: 28)
    /// Two networks, two checkpoints: model-scratch.safetensors and model-concise.safetensors.
    static let checkpointKeys = ["scratch", "concise"]

    let run: ChapterRun

    func tell() throws {
        Narration.section("7.5 Batch Normalization")
        Narration.say("""
        Batch normalization (Ioffe & Szegedy, 2015) makes deep networks train faster and more \
        reliably; with residual blocks (section 7.6) it made networks of over a hundred layers \
        trainable. It standardises a layer's inputs over each minibatch.
        """)
        Self.trainingDeepNetworks()
        try batchNormLayers()
        try fromScratchDemo()
        let summary = try lenetSummary()
        if run.mode == .summaryOnly { return }
        let data = try run.loadData()
        try train(data: data, summary: summary)
    }

    // MARK: 7.5.1 and 7.5.2

    static func trainingDeepNetworks() {
        Narration.section("7.5.1 Training deep networks")
        Narration.say("""
        Three observations motivate it. First, we standardise input features (mean 0, variance 1) \
        before training because optimisers work best on well-scaled problems; batch normalization does \
        the same for the inputs of every layer. Second, the intermediate values of a deep network can \
        differ by orders of magnitude between layers, between units and over the course of training, \
        so a learning rate that suits one layer is wrong for another; keeping them in range removes \
        that drift. Third, deeper networks overfit more easily, and the noise of statistics estimated \
        on a random minibatch acts as a regulariser.
        """)
    }

    func batchNormLayers() throws {
        Narration.section("7.5.2 Batch normalization layers")
        Narration.say("""
        For a minibatch B the layer computes

            BN(x) = γ ⊙ (x − μ̂_B) / σ̂_B + β,   μ̂_B = mean over B of x,   σ̂²_B = mean((x − μ̂_B)²) + ε,

        with a learned scale γ and shift β that let the network undo the standardisation where that \
        helps. After a fully connected layer the statistics are taken per feature over the batch; after \
        a convolution, per channel over the batch and all positions. It needs batches of more than one \
        example: with one, x − μ̂_B is 0 everywhere and the layer outputs β whatever its input (this \
        program's layers refuse such a batch when training). In prediction mode it uses running \
        averages collected during training instead, so a prediction does not depend on the other \
        examples in its batch: the layer computes different things in training and in prediction, \
        like dropout.
        """)
        var g = SeededGenerator(seed: run.seed &+ 11)
        let x = Tensor(shape: [4, 3], data: (0..<12).map { _ in 3 + 2 * g.normal() })
        let rowMean = x.mean(axes: [1], keepDim: true)
        let layerNormed = (x - rowMean) / ((x - rowMean).squared().mean(axes: [1], keepDim: true) + 1e-5).sqrt()
        Narration.say("""
        Layer normalization (Ba et al., 2016) standardises each example over its own features instead \
        of each feature over the batch, so it works for a batch of one and computes the same in \
        training and prediction. On a (4, 3) batch with example means \(list(rowMean.data)) it gives \
        examples with means \(list(layerNormed.mean(axes: [1]).data)). It is the normalization of the \
        Transformers later in the book.
        """)
    }

    // MARK: 7.5.3 From scratch

    func fromScratchDemo() throws {
        Narration.section("7.5.3 Implementation from scratch")
        Narration.say("""
        `batch_norm` is written with tensor operations only (mean, subtraction, square, square root), \
        so reverse-mode autograd works out its gradient, exactly as in the book. A `BatchNorm` layer \
        around it holds γ (ones), β (zeros) and the moving mean and variance (zeros and ones), updated \
        as moving ← 0.9·moving + 0.1·batch statistic. One difference from the book's code: its \
        `batch_norm` chooses between batch and running statistics by whether gradients are being \
        recorded (`torch.is_grad_enabled()`), ours by the layer's training mode, which train() and \
        eval() set. They agree whenever a network is evaluated inside `torch.no_grad()`, as the book's \
        loop does, but code that predicts with gradients on would use batch statistics in the book's \
        version and the running ones here.
        """)
        var g = SeededGenerator(seed: run.seed &+ 7)
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

    // MARK: 7.5.4 LeNet with batch normalization

    func lenetSummary() throws -> LayerSummary {
        Narration.section("7.5.4 LeNet with batch normalization")
        Narration.say("""
        Batch normalization goes after each convolution or fully connected layer and before its \
        sigmoid. The layers infer their input sizes on the first call (like PyTorch's lazy layers), \
        so one sample image shows the shapes:
        """)
        Random.seed(run.seed)
        let side = run.config.resize
        let (net, summary) = try run.summarise("LeNet with batch normalization", side: side, batch: run.config.batchSize) { bnLeNetScratch() }
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
        run.announce()

        Random.seed(run.seed)
        let scratch = bnLeNetScratch()
        scratch.initialize(.xavierUniform)
        let title = "LeNet with batch normalization"
        let scratchTrainer = try run.train(scratch, data: data, title: title, key: "scratch", labelled: true)
        print("(the book, zh 2.0.0 on a V100 GPU: loss 0.273, train acc 0.899, test acc 0.807)\n")

        if hasLearned("scratch") {
            let first = scratch.layers[1] as! ScratchBatchNorm
            print("γ and β of the first batch-norm layer \(run.mode == .evalOnly ? "as loaded" : "after training"):")
            print("  gamma \(list(first.gamma.data))")
            print("  beta  \(list(first.beta.data))\n")
            run.metrics.results["first_bn_gamma"] = .array(first.gamma.data.map { .number(Double($0)) })
            run.metrics.results["first_bn_beta"] = .array(first.beta.data.map { .number(Double($0)) })
        }

        Narration.section("7.5.5 Concise implementation")
        Narration.say("""
        The core's `BatchNorm` does the same in one fused kernel with a hand-written backward pass; \
        it infers from its first input whether it is a `BatchNorm2d` or a `BatchNorm1d`. Like \
        PyTorch it stores the unbiased batch variance in its running variance. Same seed, so the \
        same initial weights:
        """)
        Random.seed(run.seed)
        let concise = bnLeNet()
        concise.initialize(.xavierUniform)
        let conciseTrainer = try run.train(concise, data: data, title: title, key: "concise",
                                           labelled: true, earlier: [(name: "scratch", history: scratchTrainer.history)])
        print("(the book, zh 2.0.0 on a V100 GPU: loss 0.267, train acc 0.902, test acc 0.708)\n")

        Self.controversy()
        try compareImplementations(data: data)

        Narration.section("Pictures")
        // The concise network's, unless only the scratch one's weights were loaded.
        let (pictured, name) = hasLearned("concise") ? (concise, "LeNet+BN") : (scratch, "LeNet+BN (scratch)")
        Narration.say("\(name): the first convolution's filters, and one test image after each stage of the convolutional part.")
        try run.drawPictures(net: pictured, stages: [2: "conv1+BN+sigmoid", 3: "avg pool 1", 6: "conv2+BN+sigmoid", 7: "avg pool 2"],
                             data: data, modelName: name)
        run.metrics.results["examples_per_sec_scratch"] = .number(scratchTrainer.examplesPerSec)
        run.metrics.results["examples_per_sec_concise"] = .number(conciseTrainer.examplesPerSec)
        try run.finish()
    }

    static func controversy() {
        Narration.section("7.5.6 Controversy")
        Narration.say("""
        The original paper explained the method by "internal covariate shift": the distribution of \
        each layer's inputs changes as the layers below learn, and normalising them was said to remove \
        that shift. The name is loose (covariate shift means something else in statistics) and later \
        experiments found that batch normalization does not reduce the shift in that sense; Santurkar \
        et al. (2018) argue it helps by making the loss surface smoother, and others point to its \
        regularising noise. That it works is well established; why it works is still debated. An \
        intuition that guides a design is not yet an explanation of it.
        """)
    }

    /// Whether the network `key` has learned weights to show: trained here, or loaded with --eval-only.
    func hasLearned(_ key: String) -> Bool { run.mode != .evalOnly || run.loadedKeys.contains(key) }

    // MARK: Scratch vs fused, number by number

    func compareImplementations(data: FashionMNIST) throws {
        Narration.section("Beyond the book: scratch versus fused, number by number")
        Narration.say("""
        Beyond the book: the two implementations should compute the same function. Both networks get \
        identical weights and the same batch of training images; we compare the outputs in training \
        mode, the gradients with respect to the input and every γ and β, the running statistics after \
        three SGD steps, and the outputs in prediction mode.
        """)
        let resize = BilinearResize(from: data.train.height, to: run.config.resize)
        let (images, labels) = data.train.batch(data.train.batches(size: run.config.batchSize)[0], resize: resize)
        let cmp = try BatchNormComparison.run(images: images, labels: labels, lr: run.config.learningRate, seed: run.seed)
        for line in cmp.lines { print(line) }
        print()
        run.metrics.results["bn_compare"] = .object(cmp.json)
    }
}

/// `[0.4863, 2.8573, …]`; values that round to zero print as 0 (never "-0.0000").
func list(_ values: [Float], decimals: Int = 4) -> String {
    "[" + values.map { v in
        let s = String(format: "%.\(decimals)f", v)
        return Double(s) == 0 ? String(format: "%.\(decimals)f", 0.0) : s
    }.joined(separator: ", ") + "]"
}
