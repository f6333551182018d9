/// Flattens all axes after the batch axis: (N, C, H, W) → (N, C·H·W).
public final class Flatten: Module {
    public override init() {}
    public override func forward(_ x: consuming Tensor) throws -> Tensor {
        guard x.rank >= 1 else { throw LayerError(typeName, "cannot flatten a scalar") }
        return x.flattened()
    }
}
