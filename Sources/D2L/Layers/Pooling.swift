/// Pooling layers; the kernels are in `PoolKernels.swift`.

/// Max pooling (PyTorch's `nn.MaxPool2d`; stride defaults to the kernel size).
public final class MaxPool2d: Module {
    public let config: PoolConfig
    public init(kernel: Int, stride: Int? = nil, padding: Int = 0) {
        precondition(kernel > 0 && (stride ?? kernel) > 0 && padding >= 0 && padding * 2 <= kernel,
                     "MaxPool2d: padding must be at most half the kernel")
        config = PoolConfig(kernel: (kernel, kernel), stride: (stride ?? kernel, stride ?? kernel), padding: (padding, padding))
    }
    public override func forward(_ x: Tensor) throws -> Tensor {
        try checkPoolInput(x, config, typeName)
        return maxPool2d(x, config)
    }
    public override func ownFlops(input: [Int], output: [Int]) -> Int { output.elementCount * config.kernel.0 * config.kernel.1 }
}

/// Average pooling (PyTorch's `nn.AvgPool2d`, padding counted in the divisor).
public final class AvgPool2d: Module {
    public let config: PoolConfig
    public init(kernel: Int, stride: Int? = nil, padding: Int = 0) {
        precondition(kernel > 0 && (stride ?? kernel) > 0 && padding >= 0 && padding * 2 <= kernel,
                     "AvgPool2d: padding must be at most half the kernel")
        config = PoolConfig(kernel: (kernel, kernel), stride: (stride ?? kernel, stride ?? kernel), padding: (padding, padding))
    }
    public override func forward(_ x: Tensor) throws -> Tensor {
        try checkPoolInput(x, config, typeName)
        return avgPool2d(x, config)
    }
    public override func ownFlops(input: [Int], output: [Int]) -> Int { output.elementCount * config.kernel.0 * config.kernel.1 }
}

/// Average pooling to a fixed output size (PyTorch's `nn.AdaptiveAvgPool2d`).
public final class AdaptiveAvgPool2d: Module {
    public let outSize: (Int, Int)
    public init(_ outH: Int, _ outW: Int) {
        precondition(outH > 0 && outW > 0)
        outSize = (outH, outW)
    }
    public convenience init(_ size: Int) { self.init(size, size) }
    public override func forward(_ x: Tensor) throws -> Tensor {
        guard x.rank == 4 else { throw LayerError(typeName, "expects 4-D input (N, C, H, W), got \(x.shape.shapeDescription)") }
        guard x.shape[2] > 0 && x.shape[3] > 0 else { throw LayerError(typeName, "empty input \(x.shape.shapeDescription)") }
        return adaptiveAvgPool2d(x, outSize: outSize)
    }
    public override func ownFlops(input: [Int], output: [Int]) -> Int { input.elementCount }
}

private func checkPoolInput(_ x: Tensor, _ c: PoolConfig, _ name: String) throws {
    guard x.rank == 4 else { throw LayerError(name, "expects 4-D input (N, C, H, W), got \(x.shape.shapeDescription)") }
    guard x.shape[2] + 2 * c.padding.0 >= c.kernel.0 && x.shape[3] + 2 * c.padding.1 >= c.kernel.1 else {
        throw LayerError(name, "input \(x.shape.shapeDescription) is smaller than the \(c.kernel.0)×\(c.kernel.1) window (padding \(c.padding.0))")
    }
}
