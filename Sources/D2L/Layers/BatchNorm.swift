/// Batch normalisation whose channel count and kind are inferred on the first call:
/// a 4-D input makes it `BatchNorm2d` (statistics per channel over N, H, W), a 2-D input
/// `BatchNorm1d` (per feature over N). γ = 1, β = 0, running mean 0, running variance 1,
/// momentum 0.1, ε = 1e-5, as PyTorch. The kernel is `batchNorm(_:gamma:beta:state:training:)`.
public final class BatchNorm: Module {
    public let momentum: Float
    public let eps: Float
    public private(set) var gamma: Tensor?
    public private(set) var beta: Tensor?
    public private(set) var runningMean: Tensor?
    public private(set) var runningVar: Tensor?
    /// How many training batches have updated the running statistics.
    public private(set) var numBatchesTracked = 0
    /// Values per channel (N·H·W) in the last training batch: the m of the m/(m−1) correction.
    public private(set) var lastBatchValuesPerChannel = 0
    private var inputRank = 0

    public init(momentum: Float = 0.1, eps: Float = 1e-5) {
        self.momentum = momentum
        self.eps = eps
    }

    public override var typeName: String {
        switch inputRank { case 4: "BatchNorm2d"; case 2: "BatchNorm1d"; default: "BatchNorm" }
    }

    public override var ownParameters: [(String, Tensor)] {
        [("weight", gamma), ("bias", beta)].compactMap { name, t in t.map { (name, $0) } }
    }

    public override var ownBuffers: [(String, Tensor)] {
        [("running_mean", runningMean), ("running_var", runningVar)].compactMap { name, t in t.map { (name, $0) } }
    }

    public override var ownCounters: [(String, Int)] {
        gamma == nil ? [] : [("num_batches_tracked", numBatchesTracked)]
    }

    public override func setCounter(_ name: String, to value: Int) {
        if name == "num_batches_tracked" { numBatchesTracked = value }
    }

    public override func forward(_ x: consuming Tensor) throws -> Tensor { try normalize(x, thenReLU: false) }

    /// `forward(x).relu()` in one pass each way (`batchNorm(relu: true)`), with the same values
    /// and gradients. `Sequential` uses it for a `BatchNorm` followed by a `ReLU`, blocks through
    /// `Module.call(_:named:_:thenReLU:)`.
    public func forwardThenReLU(_ x: consuming Tensor) throws -> Tensor { try normalize(x, thenReLU: true) }

    private func normalize(_ x: consuming Tensor, thenReLU: Bool) throws -> Tensor {
        guard x.rank == 2 || x.rank == 4 else {
            throw LayerError(typeName, "expects (N, C) or (N, C, H, W) input, got \(x.shape.shapeDescription)")
        }
        let c = x.shape[1]
        if gamma == nil {
            inputRank = x.rank
            gamma = Tensor.ones([c], requiresGrad: true)
            beta = Tensor.zeros([c], requiresGrad: true)
            runningMean = Tensor.zeros([c])
            runningVar = Tensor.ones([c])
        }
        guard let gamma, let beta, let runningMean, let runningVar, gamma.count == c, x.rank == inputRank else {
            throw LayerError(typeName, "was built for \(gamma!.count) channels of rank-\(inputRank) input, got \(x.shape.shapeDescription)")
        }
        if isTraining {
            let perChannel = x.count / c
            guard perChannel > 1 else {
                throw LayerError(typeName, "expected more than 1 value per channel when training, got input \(x.shape.shapeDescription)")
            }
            numBatchesTracked += 1
            lastBatchValuesPerChannel = perChannel
        }
        let state = BatchNormState(runningMean: runningMean, runningVar: runningVar, momentum: momentum, eps: eps)
        return batchNorm(x, gamma: gamma, beta: beta, state: state, training: isTraining, relu: thenReLU)
    }

    public override func ownFlops(input: [Int], output: [Int]) -> Int { 2 * output.elementCount }
}
