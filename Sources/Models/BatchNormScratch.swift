import D2L

/// The book's `batch_norm`, written with tensor ops only, so autograd derives its gradient.
///
/// Training: per channel (4-D: over N, H, W, keeping dims; 2-D: over N) take the mean μ and
/// the **biased** variance σ² = mean((X − μ)²), normalise X̂ = (X − μ)/√(σ² + ε), and move the
/// running statistics: moving ← momentum·moving + (1 − momentum)·batch (the book's
/// momentum 0.9 convention; PyTorch writes the same update with momentum 0.1).
/// Evaluation: X̂ = (X − moving_mean)/√(moving_var + ε). Output Y = γ·X̂ + β.
/// The book switches on `torch.is_grad_enabled()`; here the caller passes the mode, which
/// our training loop flips at the same moments the book's does (train vs evaluate).
///
/// `normalization` selects the "lite" versions of 7.5's exercise 4: `.centerOnly` computes
/// X̂ = X − μ (no division), `.scaleOnly` X̂ = X/√(σ² + ε) (no subtraction; σ² is still the
/// variance about the mean).
public func batchNormScratch(_ x: Tensor, gamma: Tensor, beta: Tensor, movingMean: Tensor, movingVar: Tensor,
                             eps: Float, momentum: Float, training: Bool,
                             normalization: ScratchBatchNorm.Normalization = .full) -> (y: Tensor, movingMean: Tensor, movingVar: Tensor) {
    precondition(x.rank == 2 || x.rank == 4, "batch_norm needs 2-D or 4-D input")
    func normalize(_ mean: Tensor, _ variance: Tensor) -> Tensor {
        switch normalization {
        case .full: (x - mean) / (variance + eps).sqrt()
        case .centerOnly: x - mean
        case .scaleOnly: x / (variance + eps).sqrt()
        }
    }
    guard training else {
        return (gamma * normalize(movingMean, movingVar) + beta, movingMean, movingVar)
    }
    let axes = x.rank == 2 ? [0] : [0, 2, 3]
    let keep = x.rank == 4
    let mean = x.mean(axes: axes, keepDim: keep)
    let variance = (x - mean).squared().mean(axes: axes, keepDim: keep)
    let xHat = normalize(mean, variance)
    // The moving averages are plain values (the book returns `.data`): no graph is recorded.
    let (newMean, newVar) = GradMode.withoutGrad {
        (momentum * movingMean + (1 - momentum) * mean.detached(),
         momentum * movingVar + (1 - momentum) * variance.detached())
    }
    return (gamma * xHat + beta, newMean, newVar)
}

/// The book's from-scratch `BatchNorm` layer: γ, β as parameters of shape (1, C, 1, 1) or
/// (1, C); moving mean and variance kept alongside (zeros and ones at first).
public final class ScratchBatchNorm: Module {
    /// What the layer divides out: both mean and variance (batch normalization), or only one.
    public enum Normalization: String, Sendable { case full, centerOnly, scaleOnly }
    public let normalization: Normalization
    public let gamma: Tensor
    public let beta: Tensor
    public private(set) var movingMean: Tensor
    public private(set) var movingVar: Tensor
    public let eps: Float = 1e-5
    public let momentum: Float = 0.9

    /// - Parameters:
    ///   - numFeatures: channels of a conv output or features of a linear output.
    ///   - numDims: 4 after a convolution, 2 after a fully connected layer.
    ///   - normalization: `.full` for batch normalization, or a lite version (see `batchNormScratch`).
    public init(_ numFeatures: Int, numDims: Int, normalization: Normalization = .full) {
        precondition(numDims == 2 || numDims == 4, "numDims must be 2 or 4")
        self.normalization = normalization
        let shape = numDims == 2 ? [1, numFeatures] : [1, numFeatures, 1, 1]
        gamma = Tensor.ones(shape, requiresGrad: true)
        beta = Tensor.zeros(shape, requiresGrad: true)
        movingMean = Tensor.zeros(shape)
        movingVar = Tensor.ones(shape)
    }

    public override var typeName: String { "BatchNorm" }
    public override var ownParameters: [(String, Tensor)] { [("gamma", gamma), ("beta", beta)] }
    public override var ownBuffers: [(String, Tensor)] { [("moving_mean", movingMean), ("moving_var", movingVar)] }
    /// The book keeps the moving statistics as plain attributes, outside `state_dict`: we save
    /// them (as `<path>.moving_mean` / `<path>.moving_var`) so a loaded network predicts exactly as
    /// the trained one, but accept a file without them (a `state_dict` from the book's code).
    public override var optionalStateNames: Set<String> { ["moving_mean", "moving_var"] }

    public override func forward(_ x: consuming Tensor) throws -> Tensor {
        guard x.rank == gamma.rank, x.shape[1] == gamma.shape[1] else {
            throw LayerError(typeName, "built for \(gamma.shape[1]) channels of rank-\(gamma.rank) input, got \(x.shape.shapeDescription)")
        }
        if isTraining && x.count / x.shape[1] <= 1 {
            throw LayerError(typeName, "expected more than 1 value per channel when training, got input \(x.shape.shapeDescription)")
        }
        let (y, m, v) = batchNormScratch(x, gamma: gamma, beta: beta, movingMean: movingMean, movingVar: movingVar,
                                         eps: eps, momentum: momentum, training: isTraining, normalization: normalization)
        movingMean = m
        movingVar = v
        return y
    }

    public override func ownFlops(input: [Int], output: [Int]) -> Int { 2 * output.elementCount }
}
