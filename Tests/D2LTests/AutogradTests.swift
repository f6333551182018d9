import Testing
@testable import D2L

extension CoreTests {
    @Suite struct AutogradTests {
        @Test func broadcastingArithmetic() throws {
            let a = randomTensor([2, 3, 4], seed: 1)
            let b = randomTensor([3, 1], seed: 2, 0.5, 1.5)
            let c = randomTensor([4], seed: 3, 0.5, 1.5)
            try checkGradients([a, b, c]) { (a + b) * c - a / b + c / (a * a + 1) }
            try checkGradients([a, b]) { 2 * a - b * 3 + (1 - a) / 2 }
        }

        @Test func broadcastValues() {
            let a = Tensor(shape: [2, 1], data: [1, 2]), b = Tensor(shape: [3], data: [10, 20, 30])
            #expect((a + b).data == [11, 21, 31, 12, 22, 32])
            #expect((a * b).shape == [2, 3])
        }

        @Test func unaryFunctions() throws {
            let x = randomTensor([3, 5], seed: 4, 0.2, 2)
            try checkGradients([x]) { x.sqrt() }
            try checkGradients([x]) { x.log() }
            try checkGradients([x]) { x.exp() }
            try checkGradients([x]) { x.squared() }
            let z = randomTensor([3, 5], seed: 5, -3, 3)
            try checkGradients([z]) { z.sigmoid() }
            // ReLU: keep inputs away from the kink at 0.
            let r = Tensor(shape: [6], data: [-2, -0.5, -0.1, 0.3, 1, 2.5], requiresGrad: true)
            try checkGradients([r]) { r.relu() }
        }

        @Test func reductions() throws {
            let x = randomTensor([2, 3, 4, 5], seed: 6)
            try checkGradients([x]) { x.sum(axes: [0, 2, 3], keepDim: true) }
            try checkGradients([x]) { x.mean(axes: [1], keepDim: false) }
            try checkGradients([x]) { x.mean(axes: [0, 2, 3], keepDim: true) * x }
            let m = x.mean(axes: [0, 2, 3], keepDim: true)
            #expect(m.shape == [1, 3, 1, 1])
            let s = Tensor(shape: [2, 2], data: [1, 2, 3, 4]).sum(axes: [0])
            #expect(s.shape == [2] && s.data == [4, 6])
        }

        @Test func matmulReshapeConcat() throws {
            let a = randomTensor([4, 3], seed: 7), b = randomTensor([3, 5], seed: 8)
            try checkGradients([a, b]) { a.matmul(b) }
            let x = randomTensor([2, 3, 2, 2], seed: 9)
            try checkGradients([x]) { x.flattened().reshaped([4, -1]) }
            let p = randomTensor([2, 1, 2, 2], seed: 10), q = randomTensor([2, 3, 2, 2], seed: 11)
            try checkGradients([p, q]) { concatChannels([p, q, p]) }
            let c = concatChannels([Tensor(shape: [1, 1, 1, 2], data: [1, 2]), Tensor(shape: [1, 2, 1, 2], data: [3, 4, 5, 6])])
            #expect(c.shape == [1, 3, 1, 2] && c.data == [1, 2, 3, 4, 5, 6])
        }

        @Test func residualAddAndBranchConcat() throws {
            let x = randomTensor([2, 3, 4, 4], seed: 12), y = randomTensor([2, 3, 4, 4], seed: 13)
            try checkGradients([x, y]) { try residualAdd(y.relu(), x, "Residual") }
            try checkGradients([x, y]) { try concatChecked([x, y.sigmoid()], "Concat") }
        }

        @Test func gradientsAccumulateAcrossUses() {
            let x = Tensor(shape: [1], data: [3], requiresGrad: true)
            let y = x * x + x      // dy/dx = 2x + 1 = 7
            y.backward()
            #expect(x.grad == [7])
        }

        @Test func noGradRecordsNothing() {
            let x = Tensor(shape: [2], data: [1, 2], requiresGrad: true)
            let y = GradMode.withoutGrad { x * x }
            #expect(!y.requiresGrad)
        }
    }
}
