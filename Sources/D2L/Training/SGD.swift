/// Minibatch stochastic gradient descent as `torch.optim.SGD(params, lr, momentum, weight_decay)`:
/// with g = ∂loss/∂θ + λ·θ and velocity v (0 before the first step),
///   v ← μ·v + g,   θ ← θ − lr·v.
/// With μ = λ = 0 (the book's `train_ch6`) that is plain SGD, θ ← θ − lr·∂loss/∂θ, and no
/// velocity is kept.
public final class SGD {
    public let parameters: [Tensor]
    public var learningRate: Float
    public let momentum: Float, weightDecay: Float
    /// The velocity of each parameter that has taken a step (only with momentum).
    private var velocity: [ObjectIdentifier: [Float]] = [:]

    public init(_ parameters: [Tensor], learningRate: Float, momentum: Float = 0, weightDecay: Float = 0) {
        self.parameters = parameters
        self.learningRate = learningRate
        self.momentum = momentum
        self.weightDecay = weightDecay
    }

    /// Applies one update with the accumulated gradients.
    public func step() {
        for p in parameters { update(p) }
    }

    /// `loss.backward()` then `step()`, with each parameter updated as soon as its gradient is
    /// final and that gradient then freed (PyTorch's optimizer-in-backward pattern). The
    /// parameters come out bit for bit as with the two calls, but the model's parameter
    /// gradients are never all alive at once: AlexNet's and VGG's fully connected layers alone
    /// have 0.16 GiB of them, and the backward pass of the first convolutions (the largest
    /// activation gradients) no longer runs on top of them. Afterwards the parameters the pass
    /// reached have no gradient (as after `zeroGrad()`), so code that inspects gradients calls
    /// `backward()`; one it did not reach keeps a gradient it already had, as with `step()`.
    public func backwardAndStep(_ loss: Tensor) {
        var owner: [ObjectIdentifier: Tensor] = [:]
        for p in parameters where p.requiresGrad { owner[ObjectIdentifier(p.node)] = p }
        loss.backward(seed: nil) { leaf in
            guard let p = owner[ObjectIdentifier(leaf)] else { return }
            self.update(p)
            p.zeroGrad()
        }
        step()   // parameters the pass did not reach but that hold a gradient from before
    }

    /// θ ← θ − lr·∂loss/∂θ for one parameter, if it has a gradient.
    private func update(_ p: Tensor) {
        guard let g = p.grad else { return }
        let lr = learningRate
        guard momentum != 0 || weightDecay != 0 else {
            g.withUnsafeBufferPointer { pg in p.data.withUnsafeMutableBufferPointer { pd in
                for i in 0..<pd.count { pd[i] -= lr * pg[i] }
            }}
            return
        }
        let (mu, wd) = (momentum, weightDecay)
        let key = ObjectIdentifier(p)
        var v = velocity[key] ?? []
        velocity[key] = nil     // unique, so updated in place
        let first = v.isEmpty
        if first { v = [Float](repeating: 0, count: g.count) }
        g.withUnsafeBufferPointer { pg in p.data.withUnsafeMutableBufferPointer { pd in v.withUnsafeMutableBufferPointer { pv in
            for i in 0..<pd.count {
                let gi = pg[i] + wd * pd[i]
                pv[i] = first ? gi : mu * pv[i] + gi
                pd[i] -= lr * pv[i]
            }
        }}}
        if mu != 0 { velocity[key] = v }
    }

    /// Clears the gradients (they accumulate across backward passes otherwise).
    public func zeroGrad() { parameters.forEach { $0.zeroGrad() } }
}
