/// A 2-D convolution whose input channels are inferred on the first call
/// (PyTorch's `nn.LazyConv2d`). Weight (K, C/groups, kh, kw), bias (K).
/// The kernel itself is `conv2d(_:weight:bias:_:)` (im2col + GEMM).
public final class Conv2d: Module {
    public let outChannels: Int
    public let kernel: (Int, Int)
    public let config: Conv2dConfig
    public let hasBias: Bool
    public private(set) var weight: Tensor?
    public private(set) var bias: Tensor?
    private var scheme: WeightInit = .pytorchDefault

    public init(outChannels: Int, kernel: Int, stride: Int = 1, padding: Int = 0, groups: Int = 1, bias: Bool = true) {
        precondition(outChannels > 0 && kernel > 0 && stride > 0 && padding >= 0 && groups > 0,
                     "Conv2d: sizes must be positive")
        precondition(outChannels % groups == 0, "Conv2d: \(outChannels) output channels do not split into \(groups) groups")
        self.outChannels = outChannels
        self.kernel = (kernel, kernel)
        self.config = Conv2dConfig(stride: (stride, stride), padding: (padding, padding), groups: groups)
        self.hasBias = bias
    }

    public override var ownParameters: [(String, Tensor)] {
        [("weight", weight), ("bias", bias)].compactMap { name, t in t.map { (name, $0) } }
    }

    public override func initialize(_ scheme: WeightInit) {
        self.scheme = scheme
        if let w = weight { materialize(inChannels: w.shape[1] * config.groups) }
    }

    private func materialize(inChannels: Int) {
        let shape = [outChannels, inChannels / config.groups, kernel.0, kernel.1]
        weight = scheme.weight(shape)
        bias = hasBias ? scheme.bias(count: outChannels, fanIn: shape[1] * kernel.0 * kernel.1) : nil
    }

    public override func forward(_ x: consuming Tensor) throws -> Tensor {
        guard x.rank == 4 else {
            throw LayerError(typeName, "expects 4-D input (N, C, H, W), got \(x.shape.shapeDescription)")
        }
        let c = x.shape[1]
        guard c % config.groups == 0 else {
            throw LayerError(typeName, "\(c) input channels do not split into \(config.groups) groups")
        }
        guard x.shape[2] + 2 * config.padding.0 >= kernel.0 && x.shape[3] + 2 * config.padding.1 >= kernel.1 else {
            throw LayerError(typeName, "input \(x.shape.shapeDescription) is smaller than the \(kernel.0)×\(kernel.1) kernel (padding \(config.padding.0))")
        }
        if weight == nil { materialize(inChannels: c) }
        guard let weight, weight.shape[1] * config.groups == c else {
            throw LayerError(typeName, "was built for \(weight!.shape[1] * config.groups) input channels, got \(x.shape.shapeDescription)")
        }
        return conv2d(x, weight: weight, bias: bias, config)
    }

    /// Whether `forwardThenReLUAndMaxPool(x, pool)` takes `x`: the convolution, a ReLU and
    /// `pool` as one op (`ConvolutionReLUMaxPool`), for a first layer on one-channel images
    /// whose input takes no gradient.
    func runsWithReLUAndMaxPool(on x: borrowing Tensor, _ pool: MaxPool2d) -> Bool {
        (weight.map { $0.shape[1] == 1 } ?? true)
            && ConvolutionReLUMaxPool.applies(inputShape: x.shape, inputTakesGradient: x.requiresGrad,
                                              kernel: kernel, config, pool.config)
    }

    /// `pool(forward(x).relu())` in one op; `runsWithReLUAndMaxPool(on: x, pool)` must hold.
    func forwardThenReLUAndMaxPool(_ x: consuming Tensor, _ pool: MaxPool2d) -> Tensor {
        let input = x
        if weight == nil { materialize(inChannels: 1) }
        return conv2dReLUMaxPool(input, weight: weight!, bias: bias, config, pool.config)
    }

    public override func ownFlops(input: [Int], output: [Int]) -> Int {
        guard let w = weight else { return 0 }
        return 2 * output.elementCount * w.shape[1] * kernel.0 * kernel.1
    }
}

extension Module {
    /// The first convolution of the module tree in the order its layers were added, depth
    /// first: a network's input layer, whose filters the pictures show.
    public var firstConvolution: Conv2d? {
        namedModules.lazy.compactMap { $0.1 as? Conv2d }.first
    }
}
