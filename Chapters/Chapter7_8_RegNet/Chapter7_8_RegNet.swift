import ArgumentParser
import ChapterKit
import D2L
import Foundation
import Models

/// D2L en 8.8, "Designing Convolution Network Architectures" (AnyNet, RegNet), as a narrated
/// program: part 1 builds and trains RegNetX-32 as the book does; part 2 runs a small
/// design-space study and plots the error EDFs the book only shows.
@main
struct RegNetChapter: Chapter {
    static let configuration = CommandConfiguration(
        commandName: "Chapter7_8_RegNet",
        abstract: "AnyNet and RegNet: RegNetX-32 trained on Fashion-MNIST, and a design-space study with error EDFs.",
        discussion: """
        Part 1 shows the ResNeXt block and RegNetX-32 and trains it (filters.png, feature-maps.png,
        training-curves.png, metrics.json). Part 2 samples networks from the design spaces AnyNetX_A…E and
        RegNetX, trains each briefly, appends one line per network to design-space.jsonl (a rerun resumes)
        and draws design-space-edf.png. Split a large study over machines with --shard i/n and combine the
        files with --merge.
        """)
    static let section = "7.8"

    /// en 1.0.3: lr 0.05, batch 128, 10 epochs, 96×96, PyTorch's default initialisation.
    static let book = TrainConfig(epochs: 10, batchSize: 128, learningRate: 0.05, resize: 96)
    static let bookEdition = "en 1.0.3"
    /// Quick default (about 3.5 minutes on 2 cores): the original 28×28 images (1/12 of the
    /// arithmetic of 96×96), learning rate 0.1 falling to 0 over the second half of the steps,
    /// 3 epochs over the first 50,000 training images (at a constant rate the last epoch's
    /// accuracy swings with as little as a change in float rounding).
    static let quick = TrainConfig(epochs: 3, batchSize: 128, learningRate: 0.1, resize: 28, trainLimit: 50_000, lrDecay: 0.5)

    let run: ChapterRun
    /// The design-space study's flags (part 2).
    var options = StudyOptions()

    init(run: ChapterRun) { self.run = run }

    func tell() throws {
        if !options.merge.isEmpty { return try mergeShards() }
        Narration.section("7.8 Designing Convolution Network Architectures (AnyNet, RegNet)")
        Narration.say("""
        The networks so far were designed by hand, one insight at a time: 3×3 convolutions (VGG), 1×1 \
        convolutions and global pooling (NiN), branches (GoogLeNet), the identity shortcut (ResNet), \
        grouped convolutions (ResNeXt). Neural architecture search automates the hunt for the single \
        best network in a huge space, at a cost few can pay, and returns one network rather than a \
        reason. Radosavovic et al. (2020) designed *design spaces* instead: families of networks \
        described by a few parameters. A space is judged by sampling networks from it, training each \
        briefly, and comparing the distribution of their errors; a refinement that shifts the whole \
        distribution towards low error is kept. The outcome is RegNet and a handful of design rules.
        """)
        var net: Sequential?
        if options.part != .study {
            try blockDemo()
            Self.designSpaces()
            net = try modelSummary()
        }
        if run.mode == .summaryOnly {
            if options.part != .network { DesignSpaceStudyChapter.describeSpaces(options) }
            return
        }
        let data = try run.loadData()
        var files = ["metrics.json"]
        if let net {
            try train(net, data: data)
            files = ChapterRun.pictureFiles + ["training-curves.png"] + files
        }
        if options.part == .all && run.startsFromSavedWeights {
            // Loaded weights are RegNetX-32's: the study trains its own networks from scratch.
            print("(The design-space study is skipped with --load/--eval-only; run it alone with --part study.)")
        } else if options.part != .network {
            try DesignSpaceStudyChapter(run: run, options: options, data: data).tell()
            files += [DesignSpaceStudyChapter.plotFile, DesignSpaceStudyChapter.bestOfNFile, DesignSpaceStudyChapter.goodRegionFile, DesignSpaceStudyChapter.logFile]
        }
        try run.finish(files: files)
    }

    func blockDemo() throws {
        Narration.section("7.8.1 The AnyNet design space")
        Narration.say("""
        AnyNet networks have three parts: a stem (3×3 convolution with stride 2, batch normalization, \
        ReLU), a body of stages, and a head (global average pooling and a linear layer). Each stage is a \
        sequence of ResNeXt blocks: 1×1 convolution to the bottleneck width, grouped 3×3 convolution, \
        1×1 convolution back, each with batch normalization, plus the shortcut. The first block of a \
        stage halves height and width and projects the shortcut with a 1×1 convolution. Per stage i the \
        free choices are its depth d_i, width w_i, bottleneck ratio b_i and group width g_i.
        """)
        Random.seed(run.seed)
        var g = SeededGenerator(seed: run.seed &+ 17)
        let x = Tensor(shape: [4, 32, 96, 96], data: (0..<(4 * 32 * 96 * 96)).map { _ in g.normal() })
        let block = ResNeXtBlock(channels: 32, groupWidth: 16, botMul: 1)
        let y = try GradMode.withoutGrad { try block(x) }
        print("ResNeXtBlock(channels: 32, groupWidth: 16, botMul: 1) on X of shape \(x.shape.shapeDescription) gives \(y.shape.shapeDescription) "
              + "(\(block.groups) groups of \(block.bottleneckChannels / block.groups) channels)\n")
        run.metrics.results["block_demo_shape"] = .array(y.shape.map { .number(Double($0)) })
    }

    /// The number of free choices of an AnyNet with four stages: widths c0…c4, and per stage a
    /// depth, a bottleneck ratio and a group width.
    static let anyNetParameters = 5 + 3 * 4

    static func designSpaces() {
        Narration.section("7.8.2 Distributions and parameters of design spaces")
        let combinations = 1 << anyNetParameters
        Narration.say("""
        An AnyNet for ImageNet has four stages, so its free choices are the widths c0…c4, the depths \
        d1…d4, the bottleneck ratios k1…k4 and the group widths g1…g4: \(anyNetParameters) parameters. Even with \
        only two values each that is 2^\(anyNetParameters) = \(groupDigits(combinations)) networks to train, and \
        finding the best of them would teach nothing about the next design. The approach rests on four \
        assumptions: good design principles exist, so a whole distribution of networks can be good; a \
        network's error after a short training predicts its final error (multi-fidelity optimisation); \
        what holds for small networks holds for larger ones; and the design choices act roughly \
        independently, so they can be studied one at a time.
        """)
        Narration.say("""
        A design space with a sampling distribution p then has an error distribution F(e, p) = \
        P(e(net) ≤ e) for net drawn from p. With n sampled networks and their errors e_1 … e_n it is \
        estimated by the empirical CDF

            F̂(e) = (1/n) Σᵢ 1(eᵢ ≤ e),

        the fraction of the sample with error at most e. A space whose F̂ lies above another's everywhere \
        is better (more of its networks reach every error level). The paper's refinements, each checked \
        this way: one bottleneck ratio for all stages (AnyNetX_B), one group width (C), widths that do not \
        decrease from stage to stage (D), depths that do not decrease (E); sharing k and g cost nothing, \
        the orderings helped. The best networks of E have widths that grow roughly linearly with the \
        block index, which RegNet turns into a rule with six parameters; and k = 1, no bottleneck, works best.
        """)
    }

    func modelSummary() throws -> Sequential {
        Narration.section("7.8.3 RegNet")
        Narration.say("""
        The book's RegNetX-32 follows the paper's rules for good networks (no bottleneck, shared group \
        width 16, widths and depths that grow from stage to stage): stem 32 channels, two stages of 4 and \
        6 blocks with 32 and 80 channels. That is 1 + 10·3 + 1 = 32 layers with weights, not counting \
        the two projections. Its shapes on one 96×96 image:
        """)
        let net = try run.presentNetwork("RegNetX-32", bookSide: 96) { regNetX32() }.net
        print()
        return net
    }

    func train(_ net: Sequential, data: FashionMNIST) throws {
        Narration.section("7.8.4 Training RegNetX-32")
        run.announce(initialisation: "PyTorch's default initialisation")
        Random.seed(run.seed)
        net.initialize(.pytorchDefault)
        _ = try run.train(net, data: data, title: "RegNetX-32 on Fashion-MNIST",
                          stateDictPrefix: regNetStateDictPrefix)
        print("(the book, en 1.0.3 on a GPU at 96×96 for 10 epochs: val acc 0.908, read from its plot; it prints no result line)\n")
        Narration.section("Pictures")
        Narration.say("The 32 filters of the stem's 3×3 convolution, and one test image after the stem and each stage.")
        try run.drawPictures(net: net, stages: [0: "stem (32)", 1: "stage 1 (32)", 2: "stage 2 (80)"],
                             data: data, modelName: "RegNetX-32")
        Self.discussion()
    }

    static func discussion() {
        Narration.section("7.8.5 Discussion")
        Narration.say("""
        Locality and translation invariance, built into convolutions, kept CNNs ahead in vision from \
        LeNet until Transformers, which assume much less about images, overtook them once training sets \
        reached hundreds of millions of images: with enough data, scale beats inductive bias. The \
        design-space method itself outlives the architectures it was applied to: compare populations \
        of networks, not single winners.
        """)
    }

    func mergeShards() throws {
        try DesignSpaceStudyChapter.merge(run: run, options: options)
        try run.finish(files: ["metrics.json", DesignSpaceStudyChapter.plotFile, DesignSpaceStudyChapter.bestOfNFile, DesignSpaceStudyChapter.goodRegionFile, DesignSpaceStudyChapter.logFile])
    }
}
