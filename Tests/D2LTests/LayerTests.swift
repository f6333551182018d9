import Testing
@testable import D2L
@testable import Models
import Experiments

extension CoreTests {
    @Suite struct LayerTests {
        @Test func poolingGradients() throws {
            let x = randomTensor([2, 3, 7, 7], seed: 1)
            try checkGradients([x]) { maxPool2d(x, PoolConfig(kernel: (3, 3), stride: (2, 2), padding: (1, 1))) }
            try checkGradients([x]) { avgPool2d(x, PoolConfig(kernel: (2, 2), stride: (2, 2))) }
            try checkGradients([x]) { avgPool2d(x, PoolConfig(kernel: (3, 3), stride: (1, 1), padding: (1, 1))) }
            try checkGradients([x]) { adaptiveAvgPool2d(x, outSize: (1, 1)) }
            try checkGradients([x]) { adaptiveAvgPool2d(x, outSize: (3, 2)) }
        }

        @Test func poolingValues() {
            let x = Tensor(shape: [1, 1, 4, 4], data: (0..<16).map(Float.init))
            #expect(maxPool2d(x, PoolConfig(kernel: (2, 2), stride: (2, 2))).data == [5, 7, 13, 15])
            #expect(avgPool2d(x, PoolConfig(kernel: (2, 2), stride: (2, 2))).data == [2.5, 4.5, 10.5, 12.5])
            // Padding is counted in the average's divisor (count_include_pad=True).
            let padded = avgPool2d(x, PoolConfig(kernel: (3, 3), stride: (3, 3), padding: (1, 1)))
            #expect(padded.data[0] == Float(0 + 1 + 4 + 5) / 9)
            // Max pooling padding never wins, even over negative values.
            let neg = Tensor(shape: [1, 1, 2, 2], data: [-4, -3, -2, -1])
            #expect(maxPool2d(neg, PoolConfig(kernel: (3, 3), stride: (2, 2), padding: (1, 1))).data == [-1])
            // Ties go to the first position, and a NaN wins and stays (as PyTorch): the
            // gradient follows the chosen position.
            let ties = Tensor(shape: [1, 1, 2, 3], data: [1, 7, 7, 7, 2, .nan], requiresGrad: true)
            let tied = maxPool2d(ties, PoolConfig(kernel: (2, 2), stride: (1, 1)))
            #expect(tied.data[0] == 7 && tied.data[1].isNaN)
            tied.backward(seed: [1, 10])
            #expect(ties.grad! == [0, 1, 0, 0, 0, 10])
            // A 16×16 window is the largest whose winner fits the byte max pooling keeps.
            let big = Tensor(shape: [1, 1, 17, 17], data: (0..<289).map { Float($0 % 31) })
            #expect(throws: Never.self) { try MaxPool2d(kernel: 16)(big) }
            #expect(throws: LayerError.self) { try MaxPool2d(kernel: 17)(big) }
            // Adaptive average of 5 columns into 3: spans [0,2) [1,4) [3,5).
            let row = Tensor(shape: [1, 1, 1, 5], data: [1, 2, 3, 4, 5])
            #expect(adaptiveAvgPool2d(row, outSize: (1, 3)).data == [1.5, 3, 4.5])
        }

        /// Average pooling against a plain sum over each window, in the same order, values and
        /// gradients bit for bit: the 2×2 stride-2 path (`AveragePool2x2`, eight outputs at once)
        /// on maps whose outputs fill whole blocks, leave a tail, or drop an odd last row and
        /// column, and the general loop next to it.
        @Test func averagePoolingMatchesAPlainSum() {
            var g = SeededGenerator(seed: 23)
            for ((k, stride), (h, w)) in [(2, 2), (3, 2), (2, 1)].flatMap({ cfg in [(9, 41), (28, 28), (10, 10), (4, 32)].map { (cfg, $0) } }) {
                let (n, c) = (2, 3)
                let x = Tensor(shape: [n, c, h, w], data: (0..<(n * c * h * w)).map { _ in g.uniform(-2, 2) }, requiresGrad: true)
                let cfg = PoolConfig(kernel: (k, k), stride: (stride, stride))
                let y = avgPool2d(x, cfg)
                let (oh, ow) = cfg.outSize(h, w)
                let seed = (0..<y.count).map { _ in g.uniform(-1, 1) }
                var values = [Float](), gradient = [Float](repeating: 0, count: x.count)
                for plane in 0..<(n * c) { for oy in 0..<oh { for ox in 0..<ow {
                    var s: Float = 0
                    for u in 0..<k { for v in 0..<k { s += x.data[(plane * h + oy * stride + u) * w + ox * stride + v] } }
                    values.append(s * (1 / Float(k * k)))
                    let share = seed[(plane * oh + oy) * ow + ox] * (1 / Float(k * k))
                    for u in 0..<k { for v in 0..<k { gradient[(plane * h + oy * stride + u) * w + ox * stride + v] += share } }
                }}}
                y.backward(seed: seed)
                let label = "k \(k) stride \(stride) on \(h)×\(w)"
                #expect(y.shape == [n, c, oh, ow], "\(label)")
                #expect(zip(y.data, values).filter { $0.bitPattern != $1.bitPattern }.count == 0, "\(label)")
                #expect(zip(x.grad!, gradient).filter { $0.bitPattern != $1.bitPattern }.count == 0, "\(label)")
            }
        }

        /// Max pooling against a plain search for the first maximum of every window (the first
        /// NaN, if there is one), values and routed gradients, with many ties (values from a
        /// handful of integers), overlapping windows, strides and padding. The maps are wide
        /// enough for the eight-windows-at-once path (stride 1 and 2) and its edges, or narrow
        /// enough for the eight-planes-at-once path, and some planes hold NaNs, which send their
        /// windows or planes down the one-at-a-time path.
        @Test func maxPoolingMatchesAPlainSearch() {
            var g = SeededGenerator(seed: 21)
            let configurations = [(2, 2, 0), (3, 2, 1), (3, 1, 1), (5, 3, 2), (4, 1, 0), (1, 1, 0), (2, 1, 0)]
            for ((k, stride, pad), (h, w)) in configurations.flatMap({ cfg in [(9, 41), (6, 6), (5, 7)].map { (cfg, $0) } }) {
                let (n, c) = (2, 9)   // 18 planes: two groups of eight and two more, per image pair
                var data = (0..<(n * c * h * w)).map { _ in Float(g.next() % 4) - 1.5 }
                for _ in 0..<5 { data[Int(g.next() % UInt64(data.count / 2))] = .nan }   // only in the first image
                let x = Tensor(shape: [n, c, h, w], data: data, requiresGrad: true)
                let cfg = PoolConfig(kernel: (k, k), stride: (stride, stride), padding: (pad, pad))
                let y = maxPool2d(x, cfg)
                let (oh, ow) = cfg.outSize(h, w)
                let seed = (0..<y.count).map { _ in g.uniform(-1, 1) }
                var expected = [Float](repeating: 0, count: x.count), values = [Float]()
                for plane in 0..<(n * c) {
                    for oy in 0..<oh { for ox in 0..<ow {
                        var best = -Float.infinity, at = -1
                        for iy in (oy * stride - pad)..<(oy * stride - pad + k) where iy >= 0 && iy < h {
                            for ix in (ox * stride - pad)..<(ox * stride - pad + k) where ix >= 0 && ix < w {
                                let i = plane * h * w + iy * w + ix
                                if best.isNaN { continue }
                                if at < 0 || x.data[i].isNaN || x.data[i] > best { best = x.data[i]; at = i }
                            }
                        }
                        values.append(best)
                        expected[at] += seed[(plane * oh + oy) * ow + ox]
                    }}
                }
                let same = zip(y.data, values).allSatisfy { $0 == $1 || ($0.isNaN && $1.isNaN) }
                #expect(same, "kernel \(k) stride \(stride) padding \(pad)")
                #expect(values.contains { $0.isNaN })
                y.backward(seed: seed)
                let misrouted = zip(x.grad!, expected).filter { $0 != $1 }.count
                #expect(misrouted == 0, "kernel \(k) stride \(stride) padding \(pad)")
            }
        }

        @Test func linearAndCrossEntropy() throws {
            let x = randomTensor([5, 7], seed: 2), w = randomTensor([3, 7], seed: 3), b = randomTensor([3], seed: 4)
            try checkGradients([x, w, b]) { linear(x, weight: w, bias: b) }
            let y = linear(x, weight: w, bias: b)
            let expected = x.matmul(Tensor(shape: [7, 3], data: (0..<21).map { w.data[($0 % 3) * 7 + $0 / 3] }))
            #expect(maxAbsDiff(y.data, (expected + b).data) < 1e-5)

            let logits = randomTensor([4, 5], seed: 5, -3, 3)
            let labels: [Int32] = [0, 3, 4, 1]
            try checkGradients([logits], eps: 1e-2) { crossEntropy(logits, labels: labels) }
            // Value against the definition, computed in Double.
            var expectedLoss = 0.0
            for i in 0..<4 {
                let row = (0..<5).map { Double(logits.data[i * 5 + $0]) }
                expectedLoss += _log(row.map { _exp($0) }.reduce(0, +)) - row[Int(labels[i])]
            }
            #expect(Swift.abs(Double(crossEntropy(logits, labels: labels).item) - expectedLoss / 4) < 1e-5)
            // Huge logits stay finite (log-sum-exp).
            let big = Tensor(shape: [1, 2], data: [1000, -1000])
            #expect(crossEntropy(big, labels: [1]).item == 2000)
        }

        @Test(arguments: [true, false])
        func fusedBatchNormGradients(training: Bool) throws {
            for shape in [[6, 3, 4, 5], [8, 5]] {
                let x = randomTensor(shape, seed: 6, -2, 3)
                let gamma = randomTensor([shape[1]], seed: 7, 0.5, 1.5), beta = randomTensor([shape[1]], seed: 8)
                let state = BatchNormState(runningMean: randomTensor([shape[1]], seed: 9, requiresGrad: false),
                                           runningVar: randomTensor([shape[1]], seed: 10, 0.5, 2, requiresGrad: false))
                try checkGradients([x, gamma, beta], eps: 1e-2, rtol: 3e-2, atol: 3e-3) {
                    // The running statistics must not drift during the check: restore them.
                    let (m, v) = (state.runningMean.data, state.runningVar.data)
                    defer { state.runningMean.data = m; state.runningVar.data = v }
                    return batchNorm(x, gamma: gamma, beta: beta, state: state, training: training)
                }
            }
        }

        /// batchNorm(relu: true) against batchNorm(…).relu(), bit for bit: values, running
        /// statistics, the recomputed output, and the gradients of x, γ and β, both when x's
        /// gradient starts empty and when it is added to (a second backward pass).
        @Test(arguments: [true, false])
        func batchNormReLUMatchesTheComposedPair(training: Bool) throws {
            // 5×5 rows take the SIMD loops and their scalar tails; γ of both signs.
            for shape in [[4, 3, 5, 5], [3, 4, 8, 8], [16, 5]] {
                let c = shape[1]
                func run(fused: Bool) -> (y: [Float], again: [Float], grads: [[Float]], stats: [Float]) {
                    let x = randomTensor(shape, seed: 21, -2, 3)
                    let gamma = randomTensor([c], seed: 22, -1.5, 1.5), beta = randomTensor([c], seed: 23)
                    let state = BatchNormState(runningMean: randomTensor([c], seed: 24, requiresGrad: false),
                                               runningVar: randomTensor([c], seed: 25, 0.5, 2, requiresGrad: false))
                    var y: [Float] = [], again: [Float] = []
                    for _ in 0..<2 {
                        let out = fused ? batchNorm(x, gamma: gamma, beta: beta, state: state, training: training, relu: true)
                                        : batchNorm(x, gamma: gamma, beta: beta, state: state, training: training).relu()
                        y = out.data
                        again = out.recompute?() ?? []
                        var g = SeededGenerator(seed: 26)
                        out.backward(seed: (0..<out.count).map { _ in g.uniform(-1, 1) })
                    }
                    return (y, again, [x.grad!, gamma.grad!, beta.grad!], state.runningMean.data + state.runningVar.data)
                }
                let composed = run(fused: false), fused = run(fused: true)
                #expect(maxAbsDiff(fused.y, composed.y) == 0, "\(shape)")
                #expect(fused.y.contains(0) && fused.y.contains { $0 > 0 }, "both sides of the ReLU are exercised")
                #expect(maxAbsDiff(fused.again, fused.y) == 0, "the recomputed output is the output")
                #expect(fused.stats == composed.stats)
                for (which, (a, b)) in zip(fused.grads, composed.grads).enumerated() {
                    #expect(maxAbsDiff(a, b) == 0, "\(shape) gradient \(which)")
                }
            }
        }

        @Test(arguments: [true, false])
        func batchNormReLUGradients(training: Bool) throws {
            let x = randomTensor([5, 3, 4, 3], seed: 27, -2, 3)
            let gamma = randomTensor([3], seed: 28, 0.5, 1.5), beta = randomTensor([3], seed: 29)
            let state = BatchNormState(runningMean: randomTensor([3], seed: 30, requiresGrad: false),
                                       runningVar: randomTensor([3], seed: 31, 0.5, 2, requiresGrad: false))
            try checkGradients([x, gamma, beta], eps: 1e-2, rtol: 3e-2, atol: 3e-3, skipKinks: true) {
                let (m, v) = (state.runningMean.data, state.runningVar.data)
                defer { state.runningMean.data = m; state.runningVar.data = v }
                return batchNorm(x, gamma: gamma, beta: beta, state: state, training: training, relu: true)
            }
        }

        /// `Sequential` runs a BatchNorm followed by a ReLU as one op (one graph node with batch
        /// norm's inputs and no ReLU mask), with the composed pair's values and gradients.
        @Test func sequentialFusesBatchNormAndReLU() throws {
            let x1 = randomTensor([4, 3, 6, 6], seed: 32, -2, 3), x2 = randomTensor([4, 3, 6, 6], seed: 32, -2, 3)
            let fusedNet = Sequential(BatchNorm(), ReLU())
            let bn = BatchNorm()
            let y1 = try fusedNet(x1), y2 = try bn(x2).relu()
            #expect(y1.node.parents.count == 3 && y1.node.savedCodes.isEmpty)
            #expect(y2.node.parents.count == 1 && !y2.node.savedCodes.isEmpty)
            #expect(maxAbsDiff(y1.data, y2.data) == 0)
            let w = randomTensor([y1.count], seed: 33, requiresGrad: false).data
            y1.backward(seed: w); y2.backward(seed: w)
            #expect(maxAbsDiff(x1.grad!, x2.grad!) == 0)
            let fusedBN = fusedNet.layers[0] as! BatchNorm
            #expect(fusedBN.gamma!.grad! == bn.gamma!.grad! && fusedBN.beta!.grad! == bn.beta!.grad!)
            #expect(fusedBN.runningVar!.data == bn.runningVar!.data && fusedBN.numBatchesTracked == 1)

            // A block's call(_:named:_:thenReLU:): with false, batch norm alone.
            let alone = try fusedNet.call(bn, named: "bn", x2, thenReLU: false)
            #expect(alone.data.contains { $0 < 0 } && alone.node.parents.count == 3)
        }

        @Test func fusedBatchNormStatistics() throws {
            let bn = BatchNorm()
            let x = randomTensor([4, 2, 3, 3], seed: 11, 1, 5, requiresGrad: false)
            let y = try bn(x)
            #expect(bn.typeName == "BatchNorm2d")
            // Per channel: normalised output has mean 0 and (biased) variance ≈ 1.
            for c in 0..<2 {
                let values = (0..<4).flatMap { n in (0..<9).map { y.data[(n * 2 + c) * 9 + $0] } }
                let mean = values.reduce(0, +) / Float(values.count)
                let variance = values.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Float(values.count)
                #expect(Swift.abs(mean) < 1e-5 && Swift.abs(variance - 1) < 1e-3)
                // Running stats: momentum 0.1 and the unbiased variance (m = 36 values).
                let xs = (0..<4).flatMap { n in (0..<9).map { Double(x.data[(n * 2 + c) * 9 + $0]) } }
                let mu = xs.reduce(0, +) / 36
                let unbiased = xs.map { ($0 - mu) * ($0 - mu) }.reduce(0, +) / 35
                #expect(Swift.abs(Double(bn.runningMean!.data[c]) - 0.1 * mu) < 1e-5)
                #expect(Swift.abs(Double(bn.runningVar!.data[c]) - (0.9 + 0.1 * unbiased)) < 1e-5)
            }
            // Evaluation mode uses the running statistics and leaves them alone.
            bn.eval()
            let stats = bn.runningVar!.data
            let e = try bn(x)
            #expect(bn.runningVar!.data == stats)
            let expected0 = (x.data[0] - bn.runningMean!.data[0]) / (bn.runningVar!.data[0] + 1e-5).squareRoot()
            #expect(Swift.abs(e.data[0] - expected0) < 1e-5)
        }

        @Test func scratchAndFusedBatchNormAgree() throws {
            let images = randomTensor([32, 1, 28, 28], seed: 12, 0, 1, requiresGrad: false)
            let labels = (0..<32).map { Int32($0 % 10) }
            let cmp = try BatchNormComparison.run(images: images, labels: labels, lr: 0.5, seed: 3)
            #expect(cmp.maxOfComparable <= 1e-5, "\(cmp.lines.joined(separator: "\n"))")
            // The raw running variances differ, as they should (unbiased vs biased).
            #expect(cmp.runningVarRaw > 10 * cmp.runningVarCorrected)
        }

        @Test func scratchBatchNormGradientFromAutograd() throws {
            let x = randomTensor([6, 3, 2, 2], seed: 13, -1, 2)
            let gamma = randomTensor([1, 3, 1, 1], seed: 14, 0.5, 1.5), beta = randomTensor([1, 3, 1, 1], seed: 15)
            let mm = Tensor.zeros([1, 3, 1, 1]), mv = Tensor.ones([1, 3, 1, 1])
            try checkGradients([x, gamma, beta], rtol: 3e-2, atol: 3e-3) {
                batchNormScratch(x, gamma: gamma, beta: beta, movingMean: mm, movingVar: mv, eps: 1e-5, momentum: 0.9, training: true).y
            }
        }

        @Test func lazyInferenceAndParameterCount() throws {
            Random.seed(0)
            let net = bnLeNet()
            #expect(net.parameterCount == 0)       // nothing materialised before the first call
            let y = try net(Tensor.zeros([2, 1, 28, 28]))
            #expect(y.shape == [2, 10])
            #expect(net.parameterCount == 44_878)
            let names = net.namedParameters.map(\.0)
            #expect(names.prefix(4) == ["0.weight", "0.bias", "1.weight", "1.bias"])
            #expect(net.namedBuffers.map(\.0).prefix(2) == ["1.running_mean", "1.running_var"])
            let scratch = bnLeNetScratch()
            _ = try scratch(Tensor.zeros([2, 1, 28, 28]))
            #expect(scratch.parameterCount == 44_878)
        }

        @Test func bnLeNetSummaryText() throws {
            Random.seed(0)
            let summary = try bnLeNet().layerSummary(inputShape: [1, 1, 28, 28])
            #expect(summary.printout == """
            Conv2d output shape:\t[1, 6, 24, 24]
            BatchNorm2d output shape:\t[1, 6, 24, 24]
            Sigmoid output shape:\t[1, 6, 24, 24]
            AvgPool2d output shape:\t[1, 6, 12, 12]
            Conv2d output shape:\t[1, 16, 8, 8]
            BatchNorm2d output shape:\t[1, 16, 8, 8]
            Sigmoid output shape:\t[1, 16, 8, 8]
            AvgPool2d output shape:\t[1, 16, 4, 4]
            Flatten output shape:\t[1, 256]
            Linear output shape:\t[1, 120]
            BatchNorm1d output shape:\t[1, 120]
            Sigmoid output shape:\t[1, 120]
            Linear output shape:\t[1, 84]
            BatchNorm1d output shape:\t[1, 84]
            Sigmoid output shape:\t[1, 84]
            Linear output shape:\t[1, 10]
            """)
            #expect(summary.totalParameters == 44_878)
            // conv1: 2 · 6·24·24 outputs · 25 taps; conv2: 2 · 16·8·8 · 150.
            #expect(summary.rows[0].flops == 2 * 6 * 24 * 24 * 25)
            #expect(summary.rows[4].flops == 2 * 16 * 8 * 8 * 150)
            #expect(summary.table.contains("44,878"))
        }

        @Test func shapeErrorsNameTheLayer() throws {
            let net = Sequential(Conv2d(outChannels: 4, kernel: 3), Sequential(Flatten(), Conv2d(outChannels: 2, kernel: 1)))
            do {
                _ = try net(Tensor.zeros([1, 1, 5, 5]))
                Issue.record("expected an error")
            } catch let e as LayerError {
                #expect(e.description.hasPrefix("1.1 (Conv2d): expects 4-D input"))
                #expect(e.description.contains("[1, 36]"))
            }
            #expect(throws: LayerError.self) { try Conv2d(outChannels: 2, kernel: 5)(Tensor.zeros([1, 1, 3, 3])) }
            #expect(throws: LayerError.self) { try Linear(3)(Tensor.zeros([2, 3, 4, 4])) }
            #expect(throws: LayerError.self) { try residualAdd(Tensor.zeros([1, 2]), Tensor.zeros([1, 3]), "Residual") }
            #expect(throws: LayerError.self) { try concatChecked([Tensor.zeros([1, 2, 3, 3]), Tensor.zeros([1, 2, 4, 4])], "Concat") }
            let bn = BatchNorm()
            #expect(throws: LayerError.self) { try bn(Tensor.zeros([1, 4])) }   // one value per channel in training
        }

        @Test func concatBranchesJoinsChannels() throws {
            Random.seed(2)
            let block = ConcatBranches([Conv2d(outChannels: 2, kernel: 1),
                                        Sequential(Conv2d(outChannels: 3, kernel: 3, padding: 1), ReLU()),
                                        MaxPool2d(kernel: 3, stride: 1, padding: 1)])
            let x = randomTensor([2, 4, 5, 5], seed: 3, requiresGrad: false)
            let y = try block(x)
            #expect(y.shape == [2, 2 + 3 + 4, 5, 5])
            // The max-pool branch passes through untouched channels 5…8 of the output.
            #expect(Array(y.data[(5 * 25)..<(6 * 25)]) == maxPool2d(x, PoolConfig(kernel: (3, 3), stride: (1, 1), padding: (1, 1))).data.prefix(25).map { $0 })
            #expect(block.namedParameters.map(\.0) == ["0.weight", "0.bias", "1.0.weight", "1.0.bias"])
        }

        @Test func dropoutTrainAndEval() throws {
            Random.seed(1)
            let d = Dropout(0.5)
            let x = Tensor.ones([10_000])
            let y = try d(x)
            let kept = y.data.filter { $0 != 0 }
            #expect(kept.allSatisfy { $0 == 2 })
            #expect(Swift.abs(Double(kept.count) / 10_000 - 0.5) < 0.03)
            d.eval()
            #expect(try d(x).data == x.data)
        }

        @Test func xavierInitialisationBounds() throws {
            Random.seed(2)
            let conv = Conv2d(outChannels: 8, kernel: 3)
            conv.initialize(.xavierUniform)
            _ = try conv(Tensor.zeros([1, 4, 5, 5]))
            let bound = (6 / Float(4 * 9 + 8 * 9)).squareRoot()
            let w = conv.weight!.data
            #expect(w.allSatisfy { Swift.abs($0) <= bound })
            #expect(w.map { Swift.abs($0) }.max()! > 0.8 * bound)
            let lin = Linear(10)
            _ = try lin(Tensor.zeros([1, 100]))
            #expect(lin.weight!.data.allSatisfy { Swift.abs($0) <= 0.1 })   // default: 1/√fan_in
        }
    }
}

import Foundation
private func _log(_ x: Double) -> Double { Foundation.log(x) }
private func _exp(_ x: Double) -> Double { Foundation.exp(x) }
