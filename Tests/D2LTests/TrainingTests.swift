import Foundation
import Testing
@testable import D2L
@testable import Models

/// A small learnable synthetic data set: class k images are bright in row band k.
func syntheticData(train: Int = 300, test: Int = 100, size: Int = 28, seed: UInt64 = 1) -> FashionMNIST {
    var g = SeededGenerator(seed: seed)
    func make(_ n: Int) -> ImageSet {
        var pixels = [UInt8](repeating: 0, count: n * size * size)
        var labels = [Int32](repeating: 0, count: n)
        for i in 0..<n {
            let k = Int(g.next() % 10)
            labels[i] = Int32(k)
            for p in 0..<(size * size) {
                let band = (p / size) * 10 / size
                pixels[i * size * size + p] = UInt8(band == k ? 200 : Int(g.next() % 60))
            }
        }
        return ImageSet(pixels: pixels, labels: labels, height: size, width: size)
    }
    return FashionMNIST(train: make(train), test: make(test))
}

extension CoreTests {
    @Suite struct TrainingTests {
        @Test func sgdStepIsPlainGradientDescent() {
            let p = Tensor(shape: [2], data: [1, 2], requiresGrad: true)
            p.grad = [0.5, -1]
            let sgd = SGD([p], learningRate: 0.1)
            sgd.step()
            #expect(p.data == [0.95, 2.1])
            sgd.zeroGrad()
            #expect(p.grad == nil)
        }

        /// The trainer's step, `backwardAndStep`, leaves every parameter and running statistic
        /// bit for bit where `backward()` then `step()` leaves them, over several steps of a
        /// network with convolutions, batch norm, pooling and linear layers; and no gradient.
        @Test func backwardAndStepMatchesBackwardThenStep() throws {
            /// The same initialised network every time, its lazy layers' parameters created.
            func initialised() throws -> Module {
                Random.seed(5)
                let net = bnLeNet()
                net.initialize(.xavierUniform)
                _ = try net(randomTensor([2, 1, 28, 28], seed: 19, requiresGrad: false))
                return net
            }
            func trained(fused: Bool) throws -> Module {
                let net = try initialised()
                let sgd = SGD(net.parameters, learningRate: 0.3)
                #expect(sgd.parameters.count == 18)
                for s in 0..<3 {
                    let x = randomTensor([8, 1, 28, 28], seed: UInt64(20 + s), requiresGrad: false)
                    sgd.zeroGrad()
                    let loss = crossEntropy(try net(x), labels: [0, 1, 2, 3, 4, 5, 6, 7])
                    if fused { sgd.backwardAndStep(loss) } else { loss.backward(); sgd.step() }
                }
                if fused { #expect(net.parameters.allSatisfy { $0.grad == nil }) }
                return net
            }
            let a = try trained(fused: false), b = try trained(fused: true), untrained = try initialised()
            #expect(zip(a.parameters, untrained.parameters).allSatisfy { $0.data != $1.data })   // every parameter moved
            let stateA = a.stateEntries(), stateB = b.stateEntries()
            #expect(stateA.map(\.name) == stateB.map(\.name))
            var tensors = 0
            for (ea, eb) in zip(stateA, stateB) {
                guard case .tensor(let ta) = ea.value, case .tensor(let tb) = eb.value else { continue }
                #expect(maxAbsDiff(ta.data, tb.data) == 0, "\(ea.name)")
                tensors += 1
            }
            #expect(tensors == 26)   // 18 parameters and 4 batch norms' two running statistics
        }

        /// A parameter used twice is updated only once both uses have added their gradient
        /// (and with their sum), as `step()` would.
        @Test func backwardAndStepWaitsForEveryUseOfAParameter() {
            func run(fused: Bool) -> [Float] {
                let w = Tensor(shape: [3, 3], data: [0.5, -1, 2, 0.25, 1.5, -0.75, 1, 0.125, -2], requiresGrad: true)
                let x = Tensor(shape: [2, 3], data: [1, -2, 0.5, 3, 0.25, -1])
                let h = x.matmul(w).relu()
                let loss = (h.matmul(w) * h.matmul(w)).sum()
                let sgd = SGD([w], learningRate: 0.01)
                if fused { sgd.backwardAndStep(loss) } else { loss.backward(); sgd.step() }
                return w.data
            }
            #expect(run(fused: true) == run(fused: false))
        }

        /// Each layer's update happens, and its gradient is freed, before the backward pass
        /// reaches the layers below it: a probe below the last layer sees that layer's weight
        /// already updated and without a gradient.
        @Test func backwardAndStepFreesEachGradientOnTheWay() throws {
            let first = Linear(4), last = Linear(3)
            let x = randomTensor([2, 5], seed: 3, requiresGrad: false)
            _ = try last(first(x))
            let lastWeightBefore = last.weight!.data
            var seen: (gradient: [Float]?, weight: [Float])?
            let hidden = try first(x)
            // An identity op whose backward looks at the last layer's weight when it runs.
            let below = hidden.gradTarget
            let probe = Tensor.result(shape: hidden.shape, data: hidden.data, inputs: [hidden]) { node in
                seen = (last.weight!.grad, last.weight!.data)
                below?.accumulateGrad(node.takeGrad())
            }
            let loss = crossEntropy(try last(probe), labels: [0, 2])
            SGD(first.parameters + last.parameters, learningRate: 0.1).backwardAndStep(loss)
            let s = try #require(seen)
            #expect(s.gradient == nil)
            #expect(s.weight != lastWeightBefore)
            #expect(s.weight == last.weight!.data)
            #expect(first.parameters.allSatisfy { $0.grad == nil })
        }

        @Test func sameSeedSameFirstEpoch() throws {
            let data = syntheticData()
            func firstEpochLoss(threads: Int) throws -> Double {
                Parallel.configure(threads: threads)
                defer { Parallel.configure(threads: 1) }
                Random.seed(7)
                let net = bnLeNet()
                net.initialize(.xavierUniform)
                let trainer = Trainer(net: net, data: data, config: TrainConfig(epochs: 1, batchSize: 32, learningRate: 0.5, resize: 28, seed: 7))
                try trainer.fit()
                return trainer.history[0].loss
            }
            let a = try firstEpochLoss(threads: 2), b = try firstEpochLoss(threads: 2)
            #expect(a == b)
            #expect(a.isFinite)
        }

        @Test func learnsASimpleTask() throws {
            let data = syntheticData(train: 600, test: 200)
            Random.seed(3)
            let net = bnLeNet()
            net.initialize(.xavierUniform)
            let trainer = Trainer(net: net, data: data, config: TrainConfig(epochs: 3, batchSize: 32, learningRate: 0.5, resize: 28, seed: 3))
            try trainer.fit()
            #expect(trainer.history.last!.testAcc > 0.9)
            #expect(trainer.history.last!.loss < trainer.history.first!.loss)
            // 19 batches per epoch: a plot point every 3 batches and after the last, as train_ch6.
            let second = trainer.history[1]
            let expectedX: [Double] = [3, 6, 9, 12, 15, 18, 19].map { (b: Double) -> Double in 1 + b / 19 }
            #expect(second.trainPoints.map(\.epoch) == expectedX)
            #expect(second.trainPoints.last!.loss == second.loss && second.trainPoints.last!.trainAcc == second.trainAcc)
            #expect(trainer.examplesPerSec > 0)
            #expect(trainer.resultLines.hasPrefix("loss "))
            #expect(trainer.resultLines.hasSuffix(" examples/sec on cpu"))
        }

        @Test func learningRateSchedule() {
            let constant = TrainConfig(epochs: 2, batchSize: 32, learningRate: 0.1, resize: 28, seed: 1)
            #expect((0..<20).allSatisfy { constant.learningRate(step: $0, of: 20) == 0.1 })
            let decaying = TrainConfig(epochs: 2, batchSize: 32, learningRate: 0.1, resize: 28, seed: 1, lrDecay: 0.25)
            // 20 steps: constant for steps 0…14, then 5/5, 4/5, … 1/5 of the rate.
            let rates = (0..<20).map { decaying.learningRate(step: $0, of: 20) }
            #expect(rates[0..<16].allSatisfy { $0 == 0.1 })
            #expect(zip(rates[16...], [0.08, 0.06, 0.04, 0.02] as [Float]).allSatisfy { Swift.abs($0 - $1) < 1e-7 })
            let whole = TrainConfig(epochs: 1, batchSize: 32, learningRate: 1, resize: 28, seed: 1, lrDecay: 1)
            #expect(whole.learningRate(step: 0, of: 4) == 1 && whole.learningRate(step: 3, of: 4) == 0.25)
            // 10 steps, warm-up over the first 30% and decay over the last 20%: 1/3 and 2/3 of
            // the rate, full from step 2 (warm-up's last step) through step 8 (decay's 2/2),
            // half at the last step.
            let both = TrainConfig(epochs: 1, batchSize: 32, learningRate: 0.3, resize: 28, seed: 1, lrDecay: 0.2, lrWarmup: 0.3)
            let expected: [Float] = [0.1, 0.2, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.3, 0.15]
            #expect(zip((0..<10).map { both.learningRate(step: $0, of: 10) }, expected).allSatisfy { Swift.abs($0 - $1) < 1e-7 })
        }

        /// The trainer applies the schedule: the same run with a decay ends with other weights.
        @Test func trainerAppliesTheSchedule() throws {
            let data = syntheticData(train: 128, test: 32)
            func weights(decay: Double) throws -> [Float] {
                Random.seed(5)
                let net = Sequential(Flatten(), Linear(16), ReLU(), Linear(10))
                net.initialize(.xavierUniform)
                let t = Trainer(net: net, data: data, config: TrainConfig(epochs: 2, batchSize: 32, learningRate: 0.2,
                                                                          resize: 28, seed: 2, lrDecay: decay))
                t.quiet = true
                try t.fit()
                return net.parameters.flatMap(\.data)
            }
            #expect(try weights(decay: 0.5) != weights(decay: 0))
            #expect(try weights(decay: 0.5) == weights(decay: 0.5))
        }

        @Test func divergenceStopsWithAClearError() throws {
            let data = syntheticData(train: 64, test: 16)
            Random.seed(4)
            let net = Sequential(Flatten(), Linear(10))
            let trainer = Trainer(net: net, data: data, config: TrainConfig(epochs: 2, batchSize: 16, learningRate: 1e38, resize: 28, seed: 4))
            do {
                try trainer.fit()
                Issue.record("expected divergence")
            } catch let e as DivergenceError {
                #expect(e.epoch == 1 && e.batch >= 1)
                #expect(e.description.contains("smaller --lr"))
            }
        }

        /// A runaway loss: 10 batches in a row above 3 × ln(classes) stop the run; one batch below
        /// starts the count again; with factor 0 only a loss that is not a number stops it.
        @Test func runawayLossIsCaught() throws {
            var watch = DivergenceWatch(factor: 3)
            let threshold = 3 * Foundation.log(10.0)
            for b in 1...9 { try watch.check(loss: Float(threshold) + 0.01, classes: 10, epoch: 1, batch: b, learningRate: 1) }
            try watch.check(loss: 2.3, classes: 10, epoch: 1, batch: 10, learningRate: 1)     // resets the count
            for b in 11...19 { try watch.check(loss: 1e9, classes: 10, epoch: 1, batch: b, learningRate: 1) }
            do {
                try watch.check(loss: 1e9, classes: 10, epoch: 2, batch: 20, learningRate: 0.5)
                Issue.record("10 batches above the threshold did not stop the run")
            } catch let e as DivergenceError {
                #expect(e.epoch == 2 && e.batch == 20 && e.threshold?.batches == 10)
                #expect(Swift.abs(e.threshold!.value - threshold) < 1e-12)
                #expect(e.description.contains("the loss stayed above 6.91 (3 × ln 10, the loss of a uniform guess) for 10 batches in a row"))
                #expect(e.description.contains("--no-divergence-check"))
            }
            var off = DivergenceWatch(factor: 0)
            for b in 1...100 { try off.check(loss: 1e30, classes: 10, epoch: 1, batch: b, learningRate: 1) }
            #expect(throws: DivergenceError.self) { try off.check(loss: .nan, classes: 10, epoch: 1, batch: 101, learningRate: 1) }
        }

        /// Epoch records with plot points survive JSON; records written before there were any still load.
        @Test func epochRecordsWithAndWithoutPlotPoints() throws {
            let e = EpochMetrics(epoch: 2, loss: 0.5, trainAcc: 0.8, testAcc: 0.7, trainSeconds: 2,
                                 trainPoints: [TrainPoint(epoch: 1.5, loss: 0.6, trainAcc: 0.75), TrainPoint(epoch: 2, loss: 0.5, trainAcc: 0.8)])
            let again = try JSONDecoder().decode(EpochMetrics.self, from: try JSONEncoder().encode(e))
            #expect(again == e)
            let old = #"{"epoch": 1, "loss": 0.9, "train_acc": 0.6, "test_acc": 0.65, "train_seconds": 3}"#
            let loaded = try JSONDecoder().decode(EpochMetrics.self, from: Data(old.utf8))
            #expect(loaded.trainPoints.isEmpty && loaded.testAcc == 0.65)
        }

        @Test func metricsJSONIsWrittenAtomically() throws {
            let dir = temporaryFolder("metrics")
            var m = RunMetrics(chapter: "X", settings: ["lr": .number(0.5)])
            m.epochs = [EpochMetrics(epoch: 1, loss: 0.5, trainAcc: 0.8, testAcc: 0.7, trainSeconds: 2)]
            m.results["bn_compare"] = .object(["eval_output": .number(1e-7)])
            try m.write(to: dir + "/metrics.json")
            let object = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: dir + "/metrics.json"))) as! [String: Any]
            #expect((object["epochs"] as! [[String: Any]])[0]["train_acc"] as! Double == 0.8)
            #expect(((object["results"] as! [String: Any])["bn_compare"] as! [String: Any])["eval_output"] as! Double == 1e-7)
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["metrics.json"])
        }
    }
}

extension CoreTests {
    /// Momentum, weight decay and the cosine schedule, against the formulas by hand.
    @Suite struct MomentumSGDTests {
        @Test func momentumAndWeightDecayFollowPyTorchsUpdate() {
            let p = Tensor(shape: [2], data: [1, -2], requiresGrad: true)
            let sgd = SGD([p], learningRate: 0.1, momentum: 0.9, weightDecay: 0.01)
            // Step 1: g = ∇ + λθ; v = g; θ −= lr·v.
            p.grad = [0.5, 0.25]
            sgd.step()
            let g1: [Float] = [0.5 + 0.01 * 1, 0.25 + 0.01 * -2]
            let theta1: [Float] = [1 - 0.1 * g1[0], -2 - 0.1 * g1[1]]
            #expect(maxAbsDiff(p.data, theta1) < 1e-7)
            // Step 2: v = μ·v + g.
            p.grad = [-0.5, 1]
            sgd.step()
            let g2: [Float] = [-0.5 + 0.01 * theta1[0], 1 + 0.01 * theta1[1]]
            let v2: [Float] = [0.9 * g1[0] + g2[0], 0.9 * g1[1] + g2[1]]
            #expect(maxAbsDiff(p.data, [theta1[0] - 0.1 * v2[0], theta1[1] - 0.1 * v2[1]]) < 1e-6)
            // Without momentum and weight decay it is plain SGD.
            let q = Tensor(shape: [1], data: [3], requiresGrad: true)
            q.grad = [2]
            SGD([q], learningRate: 0.5).step()
            #expect(q.data == [2])
        }

        @Test func cosineScheduleAndRecords() throws {
            var c = TrainConfig(epochs: 1, batchSize: 8, learningRate: 0.4, resize: 28)
            c.cosine = true
            #expect(c.learningRate(step: 0, of: 100) == 0.4)
            #expect(Swift.abs(c.learningRate(step: 50, of: 100) - 0.2) < 1e-6)
            #expect(Swift.abs(c.learningRate(step: 75, of: 100) - 0.4 * Float((1 + cos(Double.pi * 0.75)) / 2)) < 1e-6)
            c.momentum = 0.9
            c.weightDecay = 5e-5
            let json = try JSONEncoder().encode(c)
            #expect(try JSONDecoder().decode(TrainConfig.self, from: json) == c)
            // The book's settings keep their record: no momentum keys when unused.
            let plain = String(decoding: try JSONEncoder().encode(TrainConfig(epochs: 1, batchSize: 8, learningRate: 0.4, resize: 28)), as: UTF8.self)
            #expect(!plain.contains("momentum") && !plain.contains("cosine") && !plain.contains("weight_decay"))
            #expect(c.optimizerDescription == "SGD with momentum 0.9 and weight decay 5e-05")
        }
    }
}
