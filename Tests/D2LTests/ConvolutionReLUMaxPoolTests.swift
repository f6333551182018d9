import Testing
@testable import D2L

extension CoreTests {
    /// The fused first layers (convolution → ReLU → max pooling, image by image) against the
    /// three ops in a row, and their gradients against finite differences.
    @Suite struct ConvolutionReLUMaxPoolTests {
        struct Case: Sendable, CustomStringConvertible {
            let n, h, k, kernel, stride, pad: Int
            let pool: (kernel: Int, stride: Int, pad: Int)
            let bias: Bool
            var description: String {
                "n\(n) h\(h) k\(k) \(kernel)x\(kernel) s\(stride) p\(pad), pool \(pool.kernel)/\(pool.stride)/\(pool.pad)\(bias ? "" : ", no bias")"
            }
            var convConfig: Conv2dConfig { Conv2dConfig(stride: (stride, stride), padding: (pad, pad)) }
            var poolConfig: PoolConfig {
                PoolConfig(kernel: (pool.kernel, pool.kernel), stride: (pool.stride, pool.stride), padding: (pool.pad, pool.pad))
            }
        }
        static let cases: [Case] = [
            Case(n: 3, h: 20, k: 5, kernel: 3, stride: 1, pad: 1, pool: (2, 2, 0), bias: true),    // VGG's first block: the direct kernel
            Case(n: 2, h: 47, k: 6, kernel: 11, stride: 4, pad: 1, pool: (3, 2, 0), bias: true),   // AlexNet's: im2col, overlapping windows
            Case(n: 3, h: 13, k: 3, kernel: 5, stride: 1, pad: 2, pool: (3, 2, 1), bias: false),   // padded windows; 147 outputs, not whole bytes of bits
            Case(n: 2, h: 6, k: 4, kernel: 3, stride: 1, pad: 1, pool: (2, 1, 0), bias: true),     // rows of 6: im2col, stride-1 windows
            Case(n: 5, h: 28, k: 6, kernel: 5, stride: 1, pad: 2, pool: (2, 2, 0), bias: true),    // LeNet's sizes, an odd batch over two workers
        ]

        /// The three ops one after another, as `Sequential` runs them without the fused op.
        func composed(_ x: Tensor, _ w: Tensor, _ b: Tensor?, _ c: Case) -> Tensor {
            maxPool2d(conv2d(x, weight: w, bias: b, c.convConfig).relu(), c.poolConfig)
        }

        @Test(arguments: cases, [1, 2])
        func matchesTheThreeOpsInARow(_ c: Case, threads: Int) {
            Parallel.configure(threads: threads)
            defer { Parallel.configure(threads: 1) }
            let x = randomTensor([c.n, 1, c.h, c.h], seed: 1, requiresGrad: false)
            let (w, b) = parameters(c, seed: 2)
            #expect(ConvolutionReLUMaxPool.applies(inputShape: x.shape, inputTakesGradient: false,
                                                   kernel: (c.kernel, c.kernel), c.convConfig, c.poolConfig))
            let reference = composed(x, w, b, c)
            let seed = randomTensor(reference.shape, seed: 4, requiresGrad: false).data
            reference.backward(seed: seed)
            let (dw, db) = (w.grad!, b?.grad)
            w.zeroGrad(); b?.zeroGrad()

            let fused = conv2dReLUMaxPool(x, weight: w, bias: b, c.convConfig, c.poolConfig)
            #expect(fused.shape == reference.shape)
            #expect(maxAbsDiff(fused.data, reference.data) <= 1e-5, "\(c)")
            // Some outputs are zero (ReLU) and some windows' winners are not positive: both paths must agree there.
            #expect(fused.data.contains(0) && fused.data.contains { $0 > 0 })
            fused.backward(seed: seed)
            #expect(maxAbsDiff(w.grad!, dw) <= 1e-4 * (dw.map(abs).max()! + 1), "\(c)")
            if let db { #expect(maxAbsDiff(b!.grad!, db) <= 1e-4 * (db.map(abs).max()! + 1), "\(c)") }
        }

        /// Weights of about unit gain (±1/kernel) and biases mostly below zero, so that ReLU
        /// zeroes some outputs and some whole windows.
        func parameters(_ c: Case, seed: UInt64) -> (Tensor, Tensor?) {
            let bound = 1 / Float(c.kernel)
            return (randomTensor([c.k, 1, c.kernel, c.kernel], seed: seed, -bound, bound),
                    c.bias ? randomTensor([c.k], seed: seed + 1, -0.6, 0.2) : nil)
        }

        /// Small cases: the loss is piecewise linear in the weights, and the fewer windows, the
        /// fewer of them change their winner within ±ε (a kink, which `skipKinks` tolerates
        /// for at most a quarter of the elements).
        static let smallCases: [Case] = [
            Case(n: 2, h: 8, k: 2, kernel: 3, stride: 1, pad: 1, pool: (2, 2, 0), bias: true),
            Case(n: 2, h: 27, k: 2, kernel: 11, stride: 4, pad: 1, pool: (3, 2, 0), bias: true),
            Case(n: 1, h: 9, k: 2, kernel: 5, stride: 1, pad: 2, pool: (3, 2, 1), bias: false),
        ]

        @Test(arguments: smallCases)
        func gradientsMatchFiniteDifferences(_ c: Case) throws {
            let x = randomTensor([c.n, 1, c.h, c.h], seed: 5, requiresGrad: false)
            let (w, b) = parameters(c, seed: 6)
            try checkGradients([w] + (b.map { [$0] } ?? []), eps: 1e-3, skipKinks: true) {
                conv2dReLUMaxPool(x, weight: w, bias: b, c.convConfig, c.poolConfig)
            }
        }

        /// In training and in evaluation: the layers as one op, and as three when the input
        /// takes a gradient (a saliency map's) or has more than one channel.
        @Test func sequentialRunsTheFusedOpWhereItApplies() throws {
            let net = Sequential(Conv2d(outChannels: 4, kernel: 3, padding: 1), ReLU(), MaxPool2d(kernel: 2, stride: 2))
            let x = randomTensor([2, 1, 12, 12], seed: 8, requiresGrad: false)
            let y = try net(x)
            let conv = net.layers[0] as! Conv2d
            let c = Case(n: 2, h: 12, k: 4, kernel: 3, stride: 1, pad: 1, pool: (2, 2, 0), bias: true)
            #expect(y.data == composed(x, conv.weight!, conv.bias, c).data)
            // One op: its node's parents are the weight and the bias, not a ReLU's output.
            #expect(y.gradNode!.parents.count == 2)
            #expect(y.gradNode!.savedCodes.count == y.count + (y.count + 7) / 8)
            #expect(GradMode.withoutGrad { try! net(x) }.data == y.data)

            let xWithGradient = randomTensor([2, 1, 12, 12], seed: 8, requiresGrad: true)
            let ySaliency = try net(xWithGradient)
            #expect(ySaliency.data == y.data)
            ySaliency.backward(seed: [Float](repeating: 1, count: ySaliency.count))
            #expect(xWithGradient.grad != nil)

            let twoChannels = Sequential(Conv2d(outChannels: 4, kernel: 3, padding: 1), ReLU(), MaxPool2d(kernel: 2))
            let x2 = randomTensor([2, 2, 12, 12], seed: 9, requiresGrad: false)
            #expect(try twoChannels(x2).gradNode!.parents.count == 1)   // the ReLU's output
        }
    }
}
