import Testing
@testable import D2L

extension CoreTests {
    /// What the graph keeps for backward, and the gradient buffers that backward hands on in
    /// place: the memory side of autograd, with the values it must still get right.
    @Suite struct AutogradMemoryTests {
        /// conv → BN → ReLU → max pool → flatten → linear → cross-entropy keeps exactly what
        /// each backward reads: the conv's input, BN's input, ReLU's bit mask, the linear layer's
        /// input (the pooled map, shared with the flatten) and the softmax. BN's output and the
        /// ReLU's output are not kept.
        @Test func savedForBackwardIsWhatBackwardReads() throws {
            Random.seed(3)
            let net = Sequential([Conv2d(outChannels: 4, kernel: 3, padding: 1), BatchNorm(), ReLU(),
                                  MaxPool2d(kernel: 2), Flatten(), Linear(10)])
            let x = Tensor(shape: [2, 1, 8, 8], data: (0..<128).map { Float($0 % 7) / 7 - 0.4 })
            _ = try net(x)   // create the lazy parameters
            net.initialize(.xavierUniform)
            let loss = crossEntropy(try net(x), labels: [3, 7])
            let floats = 2 * 1 * 8 * 8      // conv input
                + 2 * 4 * 8 * 8              // BN input (the conv's output)
                + 2 * 4 * 4 * 4              // linear input (pooled, flattened)
                + 2 * 10                     // softmax probabilities
            let maskBytes = (2 * 4 * 8 * 8 + 7) / 8
            #expect(loss.bytesSavedForBackward == floats * 4 + maskBytes)
            loss.backward()
            #expect(loss.bytesSavedForBackward == 0)
            #expect(net.parameters.allSatisfy { $0.grad != nil })
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
    }
}
