/// Plain minibatch stochastic gradient descent, as `torch.optim.SGD(params, lr)` with no
/// momentum or weight decay (the book's `train_ch6`): θ ← θ − lr·∂loss/∂θ.
public final class SGD {
    public let parameters: [Tensor]
    public var learningRate: Float

    public init(_ parameters: [Tensor], learningRate: Float) {
        self.parameters = parameters
        self.learningRate = learningRate
    }

    /// Applies one update with the accumulated gradients.
    public func step() {
        let lr = learningRate
        for p in parameters {
            guard let g = p.grad else { continue }
            g.withUnsafeBufferPointer { pg in p.data.withUnsafeMutableBufferPointer { pd in
                for i in 0..<pd.count { pd[i] -= lr * pg[i] }
            }}
        }
    }

    /// Clears the gradients (they accumulate across backward passes otherwise).
    public func zeroGrad() { parameters.forEach { $0.zeroGrad() } }
}
