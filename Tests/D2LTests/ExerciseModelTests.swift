import Foundation
import Testing
@testable import D2L
@testable import Models

extension CoreTests {
    /// The networks and ops the book's exercises add: each built and checked against counts done
    /// by hand, each new backward against finite differences.
    @Suite struct ExerciseModelTests {
        /// Parameters of a lazy network once one image has gone through it.
        func parameters(_ net: Module, side: Int, channels: Int = 1) throws -> Int {
            Random.seed(0)
            _ = try net.inEvaluationMode { try GradMode.withoutGrad { try net(Tensor.zeros([1, channels, side, side])) } }
            return net.parameterCount
        }
        func outputShape(_ net: Module, side: Int, batch: Int = 2) throws -> [Int] {
            Random.seed(0)
            return try GradMode.withoutGrad { try net(Tensor.zeros([batch, 1, side, side])) }.shape
        }
        /// k×k convolution from `cin` to `cout` channels, with bias.
        func conv(_ cin: Int, _ cout: Int, _ k: Int, groups: Int = 1) -> Int { k * k * cin / groups * cout + cout }

        @Test func labelSmoothingMatchesItsFormulaAndFiniteDifferences() throws {
            let logits = randomTensor([4, 5], seed: 3, -2, 2)
            let labels: [Int32] = [0, 4, 2, 2]
            let eps: Float = 0.2
            let loss = crossEntropy(logits, labels: labels, labelSmoothing: eps).item
            // (1/N) Σₙ [log Σₖ exp zₙₖ − Σₖ qₖ zₙₖ] with q = (1 − ε)·onehot + ε/K, in Double.
            var expected = 0.0
            for n in 0..<4 {
                let row = (0..<5).map { Double(logits.data[n * 5 + $0]) }
                let lse = log(row.map { exp($0) }.reduce(0, +))
                var target = 0.0
                for (k, z) in row.enumerated() {
                    let q = (k == Int(labels[n]) ? 1 - Double(eps) : 0) + Double(eps) / 5
                    target += q * z
                }
                expected += (lse - target) / 4
            }
            #expect(Swift.abs(Double(loss) - expected) < 1e-5)
            #expect(crossEntropy(logits, labels: labels, labelSmoothing: 0).item == crossEntropy(logits, labels: labels).item)
            try checkGradients([logits]) { crossEntropy(logits, labels: labels, labelSmoothing: eps) }
        }

        @Test func liteBatchNormsRemoveOnlyWhatTheySay() throws {
            let x = randomTensor([8, 3], seed: 5, 1, 4, requiresGrad: false)
            func columns(_ t: Tensor) -> [(mean: Double, variance: Double)] {
                (0..<3).map { c in
                    let v = (0..<8).map { Double(t.data[$0 * 3 + c]) }
                    let m = v.reduce(0, +) / 8
                    return (m, v.map { ($0 - m) * ($0 - m) }.reduce(0, +) / 8)
                }
            }
            let original = columns(x)
            typealias Moments = (mean: Double, variance: Double)
            let full: (Moments, Moments) -> Bool = { _, y in Swift.abs(y.mean) < 1e-5 && Swift.abs(y.variance - 1) < 1e-3 }
            let centred: (Moments, Moments) -> Bool = { o, y in Swift.abs(y.mean) < 1e-5 && Swift.abs(y.variance - o.variance) < 1e-4 }
            let scaled: (Moments, Moments) -> Bool = { o, y in
                Swift.abs(y.variance - 1) < 1e-3 && Swift.abs(y.mean - o.mean / o.variance.squareRoot()) < 1e-3
            }
            let cases: [(ScratchBatchNorm.Normalization, (Moments, Moments) -> Bool)] = [(.full, full), (.centerOnly, centred), (.scaleOnly, scaled)]
            for (kind, check) in cases {
                let bn = ScratchBatchNorm(3, numDims: 2, normalization: kind)
                let y = try bn(x)
                for (o, c) in zip(original, columns(y)) { #expect(check(o, c), "\(kind): \(o) → \(c)") }
            }
            // The lite versions' gradients, through autograd, against finite differences.
            let input = randomTensor([6, 2], seed: 9)
            for kind in [ScratchBatchNorm.Normalization.centerOnly, .scaleOnly] {
                let bn = ScratchBatchNorm(2, numDims: 2, normalization: kind)
                try checkGradients([input, bn.gamma, bn.beta]) { try bn(input) }
            }
        }

        @Test func recomputationSavesMemoryAndChangesNoGradient() throws {
            func gradients(recompute: Bool) throws -> (grads: [[Float]], saved: Int) {
                Random.seed(1)
                let net = denseNet(convsPerBlock: [2, 2])
                net.initialize(.xavierUniform)
                let x = randomTensor([2, 1, 32, 32], seed: 2, requiresGrad: false)
                func step() throws -> (grads: [[Float]], saved: Int) {
                    let loss = crossEntropy(try net(x), labels: [1, 7])
                    let saved = loss.bytesSavedForBackward
                    loss.backward()
                    return (net.parameters.map { $0.grad ?? [] }, saved)
                }
                return recompute ? try step() : try GradMode.withoutRecomputation { try step() }
            }
            let (lean, full) = (try gradients(recompute: true), try gradients(recompute: false))
            #expect(lean.grads == full.grads)
            #expect(GradMode.recomputes)
            #expect(lean.saved < full.saved, "\(lean.saved) bytes kept with recomputation, \(full.saved) without")
        }

        @Test func alexNetVariants() throws {
            #expect(try parameters(alexNet(dropout: 0), side: 224) == 46_764_746)
            // alexNet28: 3×3 convolutions 1→48→128→192→192→128, a 128×3×3 map, dense 1152→2048→2048→10.
            let byHand = conv(1, 48, 3) + conv(48, 128, 3) + conv(128, 192, 3) + conv(192, 192, 3) + conv(192, 128, 3)
                + (1152 * 2048 + 2048) + (2048 * 2048 + 2048) + (2048 * 10 + 10)
            #expect(try parameters(alexNet28(), side: 28) == byHand)
            #expect(try outputShape(alexNet28(), side: 28) == [2, 10])
            let summary = try alexNet28().layerSummary(inputShape: [1, 1, 28, 28])
            #expect(summary.rows.filter { $0.typeName == "MaxPool2d" }.map { $0.outputShape[2] } == [14, 7, 3])
        }

        @Test func leNetVariants() throws {
            // Chapter 6's LeNet: conv 5×5 1→6 (pad 2), conv 5×5 6→16, dense 400→120→84→10.
            let leNetParameters = conv(1, 6, 5) + conv(6, 16, 5) + (400 * 120 + 120) + (120 * 84 + 84) + (84 * 10 + 10)
            #expect(leNetParameters == 61_706)
            for net in [leNet(), leNet(activation: .relu, dropout: 0.5)] { #expect(try parameters(net, side: 28) == leNetParameters) }
            #expect(try outputShape(leNet(activation: .relu, dropout: 0.5), side: 28) == [2, 10])
            // 7.5's LeNet: batch norm (γ and β) at the chosen positions, of 6, 16, 120 and 84 features.
            let plain = try parameters(leNetWithoutBN(), side: 28)
            #expect(try parameters(leNet(normalizedAt: []), side: 28) == plain)
            #expect(try parameters(leNet(normalizedAt: [0, 1, 2, 3]), side: 28) == plain + 2 * (6 + 16 + 120 + 84))
            #expect(try parameters(leNet(normalizedAt: [0, 1, 2, 3]), side: 28) == (try parameters(bnLeNet(), side: 28)))
            #expect(try parameters(leNet(normalizedAt: [2, 3]), side: 28) == plain + 2 * (120 + 84))
            let lite = leNet(normalizedAt: [0, 3], norm: { ScratchBatchNorm($0, numDims: $1, normalization: .centerOnly) })
            #expect(try parameters(lite, side: 28) == plain + 2 * (6 + 84))
            #expect(leNet(normalizedAt: [], dropout: 0.5).layers.filter { $0 is Dropout }.count == 2)
        }

        @Test func ninVariants() throws {
            // The blocks' first convolutions (11×11, 5×5, 3×3, 3×3) and m mixing k×k convolutions each.
            func nin(mixing m: Int, k: Int) -> Int {
                [(1, 96, 11), (96, 256, 5), (256, 384, 3), (384, 10, 3)].reduce(0) { total, b in
                    total + conv(b.0, b.1, b.2) + m * conv(b.1, b.1, k)
                }
            }
            #expect(nin(mixing: 2, k: 1) == 1_992_166)
            #expect(try parameters(Models.nin(mixing: 1), side: 224) == nin(mixing: 1, k: 1))
            #expect(try parameters(Models.nin(mixing: 3), side: 224) == nin(mixing: 3, k: 1))
            #expect(try parameters(Models.nin(mixingKernel: 3), side: 224) == nin(mixing: 2, k: 3))
            // A dense head reads the last block's 10×h×w map: 10·10·h·w + 10 more parameters.
            #expect(try parameters(Models.nin(denseHead: true), side: 67) == 1_992_166 + 10 * 10 + 10)
            #expect(try parameters(Models.nin(denseHead: true), side: 224) == 1_992_166 + 10 * 10 * 25 + 10)
            #expect(try outputShape(Models.nin(mixingKernel: 3, denseHead: true), side: 67) == [2, 10])
        }

        @Test func googLeNetVariants() throws {
            // Batch norm after every convolution: 2 parameters per output channel of each convolution.
            let inceptions = [(64, (96, 128), (16, 32), 32), (128, (128, 192), (32, 96), 64), (192, (96, 208), (16, 48), 64),
                              (160, (112, 224), (24, 64), 64), (128, (128, 256), (24, 64), 64), (112, (144, 288), (32, 64), 64),
                              (256, (160, 320), (32, 128), 128), (256, (160, 320), (32, 128), 128), (384, (192, 384), (48, 128), 128)]
            let channels = 64 + 64 + 192 + inceptions.reduce(0) { $0 + $1.0 + $1.1.0 + $1.1.1 + $1.2.0 + $1.2.1 + $1.3 }
            #expect(try parameters(googLeNet(batchNorm: true), side: 96) == 5_977_530 + 2 * channels)
            // The small stem: a 3×3 convolution 1→64 where the book's is 7×7.
            #expect(try parameters(googLeNet(smallInput: true), side: 28) == 5_977_530 - conv(1, 64, 7) + conv(1, 64, 3))
            let small = try googLeNet(smallInput: true).layerSummary(inputShape: [1, 1, 28, 28])
            #expect(small.rows.prefix(4).map(\.outputShape) == [[1, 64, 14, 14], [1, 192, 7, 7], [1, 480, 4, 4], [1, 832, 2, 2]])
            #expect(try outputShape(googLeNet(batchNorm: true, smallInput: true), side: 28) == [2, 10])
        }

        @Test func residualBlockVariants() throws {
            // Pre-activation ResNet-18: the same convolutions; a block's first norm now sees its input, so
            // in the first blocks of stages 2–4 it has 64, 128, 256 channels instead of 128, 256, 512;
            // and a final BN(512).
            #expect(try parameters(preActivationResNet18(), side: 96) == 11_178_378 - 2 * (64 + 128 + 256) + 2 * 512)
            #expect(try outputShape(preActivationResNet18(), side: 28) == [2, 10])
            // A bottleneck block on 256 channels with 64 inside: 1×1 256→64, 3×3 64→64, 1×1 64→256, BN 2·(64+64+256).
            let block = BottleneckResidual(64)
            _ = try GradMode.withoutGrad { try block(Tensor.zeros([1, 256, 4, 4])) }
            #expect(block.parameterCount == conv(256, 64, 1) + conv(64, 64, 3) + conv(64, 256, 1) + 2 * (64 + 64 + 256))
            // ResNet-50 for ImageNet from these blocks: torchvision's 25,557,032, minus batch norm on
            // the four projection shortcuts (2·(256 + 512 + 1024 + 2048)), plus a bias on every
            // convolution (stem 64; per stage of n blocks at width c: n·(c + c + 4c) + 4c).
            let biases = 64 + zip([64, 128, 256, 512], [3, 4, 6, 3]).reduce(0) { $0 + $1.1 * 6 * $1.0 + 4 * $1.0 }
            #expect(try parameters(bottleneckResNet(blocks: [3, 4, 6, 3], classes: 1000), side: 64, channels: 3)
                    == 25_557_032 - 2 * (256 + 512 + 1024 + 2048) + biases)
            #expect(try outputShape(bottleneckResNet(), side: 28) == [2, 10])
        }

        @Test func regNetVariants() throws {
            // RegNetX-32's layout with the book's ResNet blocks: per block two 3×3 convolutions and two
            // batch norms, a 1×1 projection (no norm) in each stage's first block.
            func stage(_ cin: Int, _ c: Int, _ depth: Int) -> Int {
                conv(cin, c, 3) + conv(c, c, 3) + conv(cin, c, 1) + 4 * c + (depth - 1) * (2 * conv(c, c, 3) + 4 * c)
            }
            let byHand = conv(1, 32, 3) + 2 * 32 + stage(32, 32, 4) + stage(32, 80, 6) + (80 * 10 + 10)
            #expect(try parameters(anyNetWithResNetBlocks(stem: 32, stages: regNetX32Stages), side: 28) == byHand)
            let four = try anyNet(stem: 32, stages: regNetX4StageStages).layerSummary(inputShape: [1, 1, 28, 28])
            #expect(four.rows.map(\.outputShape).prefix(5) == [[1, 32, 14, 14], [1, 32, 7, 7], [1, 48, 4, 4], [1, 80, 2, 2], [1, 128, 1, 1]])
            #expect(regNetX4StageStages.allSatisfy { $0.channels % $0.groupWidth == 0 })
        }

        @Test func vioNetSamplesBreakExactlyOneRule() throws {
            let sampler = DesignSpaceSampler(side: 28, macBand: 2_500_000...5_000_000)
            for principle in DesignPrinciple.allCases {
                for index in 0..<4 {
                    let s = try sampler.sampleViolating(principle, index: index, seed: 7)
                    #expect(!DesignSpaceSampler.keeps(s.architecture, principle), "\(principle) #\(index): \(s.architecture)")
                    for other in DesignPrinciple.allCases where other != principle {
                        #expect(DesignSpaceSampler.keeps(s.architecture, other), "\(principle) #\(index) breaks \(other) too: \(s.architecture)")
                    }
                    #expect(sampler.macBand.contains(s.multiplyAdds) && sampler.satisfies(s.architecture, .a))
                    #expect(try sampler.sampleViolating(principle, index: index, seed: 7).architecture == s.architecture)
                }
            }
            // AnyNetX_E's samples keep all four rules.
            let e = try sampler.sample(.e, index: 0, seed: 7)
            #expect(DesignPrinciple.allCases.allSatisfy { DesignSpaceSampler.keeps(e.architecture, $0) })
        }
    }
}
