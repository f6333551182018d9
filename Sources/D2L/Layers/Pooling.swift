/// Pooling layers; the kernels are in `PoolKernels.swift`.

/// A sliding-window pooling layer; subclasses pick the reduction.
public class WindowPool2d: Module {
    public let config: PoolConfig

    /// Stride defaults to the kernel size, as in PyTorch.
    public init(kernel: Int, stride: Int? = nil, padding: Int = 0) {
        precondition(kernel > 0 && (stride ?? kernel) > 0 && padding >= 0 && padding * 2 <= kernel,
                     "pooling: sizes must be positive and padding at most half the kernel")
        config = PoolConfig(kernel: (kernel, kernel), stride: (stride ?? kernel, stride ?? kernel), padding: (padding, padding))
    }

    /// The kernel that reduces each window.
    func pool(_ x: Tensor) -> Tensor { preconditionFailure("subclass") }

    public override func forward(_ x: consuming Tensor) throws -> Tensor {
        guard x.rank == 4 else { throw LayerError(typeName, "expects 4-D input (N, C, H, W), got \(x.shape.shapeDescription)") }
        let c = config
        guard x.shape[2] + 2 * c.padding.0 >= c.kernel.0 && x.shape[3] + 2 * c.padding.1 >= c.kernel.1 else {
            throw LayerError(typeName, "input \(x.shape.shapeDescription) is smaller than the \(c.kernel.0)×\(c.kernel.1) window (padding \(c.padding.0))")
        }
        return pool(x)
    }

    public override func ownFlops(input: [Int], output: [Int]) -> Int { output.elementCount * config.kernel.0 * config.kernel.1 }
}

/// Max pooling (PyTorch's `nn.MaxPool2d`), windows of at most 16×16.
public final class MaxPool2d: WindowPool2d {
    public override func forward(_ x: consuming Tensor) throws -> Tensor {
        guard config.kernel.0 * config.kernel.1 <= maxPoolLargestWindow else {
            throw LayerError(typeName, "a \(config.kernel.0)×\(config.kernel.1) window is larger than the \(maxPoolLargestWindow) positions max pooling supports")
        }
        return try super.forward(x)
    }
    override func pool(_ x: Tensor) -> Tensor { maxPool2d(x, config) }
}

/// Average pooling (PyTorch's `nn.AvgPool2d`, padding counted in the divisor).
public final class AvgPool2d: WindowPool2d {
    override func pool(_ x: Tensor) -> Tensor { avgPool2d(x, config) }
}

/// Average pooling to a fixed output size (PyTorch's `nn.AdaptiveAvgPool2d`).
public final class AdaptiveAvgPool2d: Module {
    public let outSize: (Int, Int)
    public init(_ outH: Int, _ outW: Int) {
        precondition(outH > 0 && outW > 0)
        outSize = (outH, outW)
    }
    public convenience init(_ size: Int) { self.init(size, size) }
    public override func forward(_ x: consuming Tensor) throws -> Tensor {
        guard x.rank == 4 else { throw LayerError(typeName, "expects 4-D input (N, C, H, W), got \(x.shape.shapeDescription)") }
        guard x.shape[2] > 0 && x.shape[3] > 0 else { throw LayerError(typeName, "empty input \(x.shape.shapeDescription)") }
        return adaptiveAvgPool2d(x, outSize: outSize)
    }
    public override func ownFlops(input: [Int], output: [Int]) -> Int { input.elementCount }
}
