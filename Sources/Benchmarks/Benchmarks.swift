import ArgumentParser
import D2L
import Foundation
import Models

/// Measures training and inference speed of the chapter models on synthetic data, next to
/// the machine's sgemm rate, so achieved/ceiling is a ratio measured in the same run.
/// A benchmark, not a test: nothing here asserts a time.
@main
struct Benchmarks: ParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Training/inference images per second of the chapter models (synthetic data).")

    @Option(help: "Comma-separated models: \(ModelCatalog.names.joined(separator: ", ")).")
    var models: String = ModelCatalog.names.joined(separator: ",")

    @Option(help: "Batch size (default: the book's for each model).")
    var batchSize: Int?

    @Option(help: "Input size (default: the book's for each model).")
    var input: Int?

    @Option(help: "Worker threads (default: all cores).")
    var threads: Int?

    @Option(help: "Timed training steps per model (after 2 warm-up steps).")
    var steps: Int = 10

    @Option(help: ArgumentHelp("Instead of the models: time one stride-1 convolution (forward + backward) through im2col and Winograd (with groups: the direct kernel), alternately.",
                               valueName: "C,H,K,r,pad[,groups]"))
    var conv: String?

    @Option(help: "Rounds of each algorithm for --conv.")
    var rounds = 21

    @Flag(help: "Run stride-1 3×3 and 5×5 convolutions through im2col instead of Winograd (for A/B comparisons).")
    var noWinograd = false

    @Flag(help: "Print one JSON array instead of a table.")
    var json = false

    func run() throws {
        #if DEBUG
        print("warning: debug build. The numbers below undersell the code: `swift run -c release Benchmarks` measures it.")
        #endif
        Parallel.configure(threads: threads ?? ProcessInfo.processInfo.activeProcessorCount)
        Winograd.enabled = !noWinograd
        if let conv {
            guard rounds >= 1 else { throw ValidationError("--rounds must be at least 1") }
            return try ConvolutionComparison(spec: conv, batch: batchSize ?? 128, rounds: rounds).run()
        }
        let names = models.split(separator: ",").map(String.init)
        for n in names where ModelCatalog.entry(n) == nil {
            throw ValidationError("unknown model '\(n)'; choose from \(ModelCatalog.names.joined(separator: ", "))")
        }
        let ceiling = measureSgemm(), peak = measureFMAPeak()
        var rows: [[String: JSONValue]] = []
        if !json {
            print("\(InstructionSet.description), \(Parallel.threads) threads; sgemm 1024³ with the same threads: \(String(format: "%.1f", ceiling)) GFLOP/s")
            if let peak {
                let wide = peak.avx512.map { String(format: ", 16-lane AVX-512 %.1f", $0) } ?? " (no AVX-512 on this CPU)"
                print("FMA peak of the same threads (independent fused multiply-adds): 8-lane AVX2 \(String(format: "%.1f", peak.avx2))\(wide) GFLOP/s; sgemm reaches \(Int((100 * ceiling / peak.higher).rounded()))% of the higher\n")
            } else {
                print("FMA peak: not measured (this CPU lacks AVX2 + FMA)\n")
            }
            print("model              input/batch   train img/s   infer img/s   fwd MFLOP/img   train GFLOP/s   peak RSS      saved   estimate")
        }
        for name in names {
            var e = ModelCatalog.entry(name)!
            if let input { e = ModelCatalog.Entry(name: e.name, input: input, batch: e.batch, make: e.make) }
            let batch = batchSize ?? e.batch
            ProcessMemory.resetPeak()
            let r = try measure(e, batch: batch)
            let trainGflops = r.train * Double(r.flops) * 3 / 1e9
            rows.append(["model": .string(name), "input": .number(Double(e.input)), "batch": .number(Double(batch)),
                         "train_images_per_sec": .number(r.train), "infer_images_per_sec": .number(r.infer),
                         "forward_flops_per_image": .number(Double(r.flops)), "train_gflops": .number(trainGflops),
                         "sgemm_gflops": .number(ceiling), "fma_peak_gflops": peak.map { .number($0.avx2) } ?? .null,
                         "fma512_peak_gflops": peak?.avx512.map(JSONValue.number) ?? .null, "blas": .string(BLASInfo.coreName), "kernels": .string(InstructionSet.kernels),
                         "peak_rss_bytes": .number(Double((ProcessMemory.peakBytes() ?? 0))),
                         "threads": .number(Double(Parallel.threads)), "estimated_training_bytes": .number(Double(r.estimate)),
                         "saved_for_backward_bytes": .number(Double(r.saved))])
            if !json {
                print(String(format: "%-18@ %4d/%-8d %11.1f %13.1f %15.2f %15.1f %6.2f GiB %6.2f GiB %6.2f GiB", name, e.input, batch,
                             r.train, r.infer, Double(r.flops) / 1e6, trainGflops, Double((ProcessMemory.peakBytes() ?? 0)) / 1_073_741_824,
                             Double(r.saved) / 1_073_741_824, Double(r.estimate) / 1_073_741_824))
            }
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(rows.map(JSONValue.object)), as: UTF8.self))
        } else {
            print("\ntrain GFLOP/s counts 3× the forward FLOPs per trained image (forward + two backward products).")
            print("saved is what one training step's graph keeps for its backward pass (the activations the ops saved).")
            print("peak RSS is the process's peak so far: freed memory stays in the process and not every kernel lets the")
            print("peak be reset, so for one model's own peak run it alone (--models name). estimate is what the chapters'")
            print("memory check assumes (MemoryEstimate), deliberately generous.")
        }
    }

    /// Images/s for a training step (forward, backward, SGD) and for inference.
    func measure(_ e: ModelCatalog.Entry, batch: Int) throws -> (train: Double, infer: Double, flops: Int, estimate: Int, saved: Int) {
        Random.seed(1)
        let net = e.make()
        net.initialize(.xavierUniform)
        let summary = try net.layerSummary(inputShape: [1, 1, e.input, e.input])
        var g = SeededGenerator(seed: 2)
        let x = Tensor(shape: [batch, 1, e.input, e.input], data: (0..<(batch * e.input * e.input)).map { _ in g.nextUnit() })
        let labels = (0..<batch).map { _ in Int32(g.next() % 10) }
        let sgd = SGD(net.parameters, learningRate: 0.01)
        var saved = 0
        /// One training step; `measuringSaved` walks the graph for its saved bytes first (warm-up
        /// only, so that the walk stays out of the timed steps).
        func step(measuringSaved: Bool = false) throws {
            sgd.zeroGrad()   // before the forward pass, as the trainer: frees the last step's gradients
            let loss = crossEntropy(try net(x), labels: labels)
            if measuringSaved { saved = loss.bytesSavedForBackward }
            sgd.backwardAndStep(loss)
        }
        net.train()
        for _ in 0..<2 { try step(measuringSaved: true) }
        let t0 = ContinuousClock.now
        for _ in 0..<steps { try step() }
        let train = Double(batch * steps) / (ContinuousClock.now - t0).seconds
        net.eval()
        sgd.zeroGrad()   // as the trainer does before evaluating
        let t1 = ContinuousClock.now
        try GradMode.withoutGrad { for _ in 0..<steps { _ = try net(x) } }
        let infer = Double(batch * steps) / (ContinuousClock.now - t1).seconds
        return (train, infer, summary.totalFlops, MemoryEstimate.trainingBytes(summary, batch: batch), saved)
    }
}

