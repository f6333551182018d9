import Testing
@testable import D2L
import Models

extension CoreTests {
    /// What the graph keeps for backward, and the gradient buffers that backward hands on in
    /// place: the memory side of autograd, with the values it must still get right.
    @Suite struct AutogradMemoryTests {
        /// conv → BN → ReLU → max pool → flatten → linear → cross-entropy keeps exactly what
        /// each backward reads: the conv's input, the pool's winning positions (a byte each),
        /// the linear layer's input (the pooled map, shared with the flatten) and the softmax.
        /// BN's input, the conv's output, is a recipe: a convolution of a one-channel image is
        /// computed again rather than kept (from `OneChannelRecompute.fromBytes` on, set to 0
        /// here: an output this small is kept in practice). BN's output and the ReLU's output are not kept, and
        /// neither is a ReLU mask: `Sequential` runs BN and ReLU as one op, whose backward finds
        /// the mask again from BN's input. Run apart, the ReLU keeps one bit per value.
        @Test func savedForBackwardIsWhatBackwardReads() throws {
            let threshold = OneChannelRecompute.fromBytes
            OneChannelRecompute.fromBytes = 0
            defer { OneChannelRecompute.fromBytes = threshold }
            Random.seed(3)
            let net = Sequential([Conv2d(outChannels: 4, kernel: 3, padding: 1), BatchNorm(), ReLU(),
                                  MaxPool2d(kernel: 2), Flatten(), Linear(10)])
            let x = Tensor(shape: [2, 1, 8, 8], data: (0..<128).map { Float($0 % 7) / 7 - 0.4 })
            _ = try net(x)   // create the lazy parameters
            net.initialize(.xavierUniform)
            let loss = crossEntropy(try net(x), labels: [3, 7])
            let floats = 2 * 1 * 8 * 8      // conv input
                + 2 * 4 * 4 * 4              // linear input (pooled, flattened)
                + 2 * 10                     // softmax probabilities
            let winnerBytes = 2 * 4 * 4 * 4
            #expect(loss.bytesSavedForBackward == floats * 4 + winnerBytes)
            loss.backward()
            #expect(loss.bytesSavedForBackward == 0)
            #expect(net.parameters.allSatisfy { $0.grad != nil })

            let apart = try net.layers[2](try net.layers[1](try net.layers[0](x)))
            let maskBytes = (2 * 4 * 8 * 8 + 7) / 8
            #expect(apart.bytesSavedForBackward == 2 * 1 * 8 * 8 * 4 + maskBytes)
        }

        /// Dropout multiplies by a mask; the product keeps the mask for the input's gradient,
        /// not the input (which only the mask's gradient would need).
        @Test func dropoutKeepsOnlyItsMask() throws {
            Random.seed(4)
            let drop = Dropout(0.5)
            let x = randomTensor([4, 100], seed: 8)
            let y = try drop(x).sum()
            #expect(y.bytesSavedForBackward == 400 * 4)
            y.backward()
            let kept = try #require(x.grad)
            #expect(kept.allSatisfy { $0 == 0 || $0 == 2 })
            #expect(kept.contains(0) && kept.contains(2))
        }

        /// `a + b` hands one gradient buffer to both operands. ReLU and batch norm then rewrite
        /// their buffer in place; the other operand's gradient must not change with it.
        @Test func handedOnGradientsAreNotOverwritten() throws {
            let x = Tensor(shape: [4], data: [-1, 2, -3, 4], requiresGrad: true)
            (x.relu() + x).sum().backward()
            #expect(x.grad == [1, 2, 1, 2])
            #expect(Tensor(shape: [2, 0], data: []).relu().shape == [2, 0])

            let z = Tensor(shape: [4], data: [1, 2, -3, 4], requiresGrad: true)
            (z + z.relu()).sum().backward()
            #expect(z.grad == [2, 2, 1, 2])

            let v = randomTensor([3, 2, 4, 4], seed: 9)
            let bn = BatchNorm()
            try checkGradients([v]) { try bn(v) + v }
            try checkGradients([v]) { v + (try bn(v)).sigmoid() }
            try checkGradients([v], skipKinks: true) { (v.relu() + v.relu().relu()).sigmoid() + v.reshaped([3, 32]).reshaped([3, 2, 4, 4]) }
        }

        /// In BN → ReLU → convolution the convolution keeps a recipe for its input, not the
        /// values: BN keeps its own input anyway, and relu(scale·x + shift) is cheap to redo.
        /// The gradients are bit for bit those of the same network whose convolution keeps the
        /// values (an added zero hides the recipe), and match finite differences.
        @Test func convolutionAfterBatchNormAndReLURecomputesItsInput() throws {
            Random.seed(5)
            let bn = BatchNorm(), conv = Conv2d(outChannels: 3, kernel: 3, padding: 1)
            let x = randomTensor([2, 4, 6, 6], seed: 11)
            _ = try conv(try bn(x).relu())   // create the lazy parameters
            let zero = Tensor.zeros([2, 4, 6, 6])

            func gradients(keepValues: Bool) throws -> (saved: Int, grads: [[Float]]) {
                for t in [x] + bn.parameters + conv.parameters { t.zeroGrad() }
                var h = try bn(x).relu()
                if keepValues { h = h + zero }
                let y = try conv(h).sum()
                let saved = y.bytesSavedForBackward
                y.backward()
                return (saved, ([x] + bn.parameters + conv.parameters).map { $0.grad! })
            }
            let recomputed = try gradients(keepValues: false), kept = try gradients(keepValues: true)
            let bnInput = x.count * 4, reluMask = (x.count + 7) / 8
            #expect(recomputed.saved == bnInput + reluMask)
            #expect(kept.saved == bnInput + reluMask + x.count * 4)
            #expect(recomputed.grads == kept.grads)
            try checkGradients([x] + bn.parameters + conv.parameters, skipKinks: true) { try conv(try bn(x).relu()) }
            // A recipe of a recipe: BN → ReLU → BN → ReLU → convolution.
            let bn2 = BatchNorm()
            try checkGradients([x] + bn.parameters, skipKinks: true) { try conv(try bn2(try bn(x).relu()).relu()) }
        }

        /// After a training step of every chapter model, nothing is left of the step's graph
        /// but the parameters: each node that the forward pass created is freed, and with it
        /// every activation. (Swift 6.3 leaks the input of a `forward` override that does not
        /// take it as `consuming`, and a leaked tensor keeps its node; so would a cycle between
        /// a node and a tensor or a recipe.) Weak references see this, whatever else the
        /// process is doing at the time.
        @Test(arguments: ModelCatalog.entries.map(\.name))
        func trainingStepsLeaveNoGraphBehind(model: String) throws {
            let entry = try #require(ModelCatalog.entry(model))
            let input = ["alexnet": 96, "nin": 96, "vgg_small": 32, "googlenet": 32, "resnet18": 32,
                         "densenet": 32, "regnetx32": 32][model] ?? entry.input
            Random.seed(7)
            let net = entry.make()
            let x = randomTensor([2, 1, input, input], seed: 13, requiresGrad: false)
            _ = try net(x)
            let sgd = SGD(net.parameters, learningRate: 0.01)
            struct WeakNode { weak var node: GradNode? }
            /// One step; weak references to the nodes of its graph that are not parameters'.
            func step() throws -> [WeakNode] {
                sgd.zeroGrad()
                let loss = crossEntropy(try net(x), labels: [1, 2])
                let parameterNodes = Set(net.parameters.compactMap { $0.gradNode.map(ObjectIdentifier.init) })
                let created = loss.gradNode!.topologicalOrder().filter { !parameterNodes.contains(ObjectIdentifier($0)) }
                sgd.backwardAndStep(loss)
                return created.map { WeakNode(node: $0) }
            }
            _ = try step()
            let nodes = try step()
            #expect(nodes.count > 10)
            let alive = nodes.filter { $0.node != nil }.count
            #expect(alive == 0, "\(model): \(alive) of the step's \(nodes.count) graph nodes are still alive")
        }

        /// ReLU takes over its input's storage when the caller gives up the last reference,
        /// and leaves a tensor that is still held, or values an op saved, untouched.
        @Test func reluReusesStorageNobodyElseHolds() throws {
            let x = Tensor(shape: [6], data: [-2, -1, 0.5, 1, 3, -0.25], requiresGrad: true)
            var h = x * Tensor.scalar(3)
            let storage = h.data.withUnsafeBufferPointer { $0.baseAddress }
            let passedOn = (consume h).relu()
            #expect(passedOn.data.withUnsafeBufferPointer { $0.baseAddress } == storage)
            #expect(passedOn.data == [0, 0, 1.5, 3, 9, 0])

            h = x * Tensor.scalar(3)
            let held = h.relu()
            #expect(h.data == [-6, -3, 1.5, 3, 9, -0.75])
            #expect(held.data == [0, 0, 1.5, 3, 9, 0])

            // squared() saves h's values; the ReLU that then takes h must not change them.
            x.zeroGrad()
            h = x * Tensor.scalar(3)
            let square = h.squared()
            ((consume h).relu() + square).sum().backward()
            // ∂/∂x of relu(3x) + 9x² = 3·[x > 0] + 18x.
            #expect(x.grad! == x.data.map { ($0 > 0 ? 3 : 0) + 18 * $0 })

            // Through layers: a Sequential hands each output on, so its ReLU works in place
            // and the network's gradients still match finite differences.
            Random.seed(6)
            let net = Sequential(Conv2d(outChannels: 2, kernel: 3), ReLU(), Flatten(), Linear(3), ReLU())
            let v = randomTensor([2, 1, 5, 5], seed: 12)
            try checkGradients([v] + (try { _ = try net(v); return net.parameters }()), skipKinks: true) { try net(v) }
            #expect(v.data == randomTensor([2, 1, 5, 5], seed: 12).data)
        }
    }
}
