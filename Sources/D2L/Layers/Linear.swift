/// A fully connected layer whose input width is inferred on the first call
/// (PyTorch's `nn.LazyLinear`). Weight (out, in), bias (out).
public final class Linear: Module {
    public let outFeatures: Int
    public let hasBias: Bool
    public private(set) var weight: Tensor?
    public private(set) var bias: Tensor?
    private var scheme: WeightInit = .pytorchDefault

    public init(_ outFeatures: Int, bias: Bool = true) {
        precondition(outFeatures > 0, "Linear: output size must be positive")
        self.outFeatures = outFeatures
        self.hasBias = bias
    }

    public override var ownParameters: [(String, Tensor)] {
        [("weight", weight), ("bias", bias)].compactMap { name, t in t.map { (name, $0) } }
    }

    public override func initialize(_ scheme: WeightInit) {
        self.scheme = scheme
        if let w = weight { materialize(inFeatures: w.shape[1]) }
    }

    private func materialize(inFeatures: Int) {
        weight = scheme.weight([outFeatures, inFeatures])
        bias = hasBias ? scheme.bias(count: outFeatures, fanIn: inFeatures) : nil
    }

    public override func forward(_ x: consuming Tensor) throws -> Tensor {
        guard x.rank == 2 else {
            throw LayerError(typeName, "expects 2-D input (N, features), got \(x.shape.shapeDescription); add a Flatten before it")
        }
        if weight == nil { materialize(inFeatures: x.shape[1]) }
        guard let weight, weight.shape[1] == x.shape[1] else {
            throw LayerError(typeName, "was built for \(weight!.shape[1]) input features, got \(x.shape.shapeDescription)")
        }
        return linear(x, weight: weight, bias: bias)
    }

    public override func ownFlops(input: [Int], output: [Int]) -> Int {
        2 * input.elementCount * outFeatures
    }
}
