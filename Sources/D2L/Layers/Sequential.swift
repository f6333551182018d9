/// Runs its layers in order (PyTorch's `nn.Sequential`); children are named "0", "1", ….
public final class Sequential: Module {
    public let layers: [Module]

    public init(_ layers: [Module]) { self.layers = layers }
    public convenience init(_ layers: Module...) { self.init(layers) }

    public override var namedChildren: [(String, Module)] {
        layers.enumerated().map { (String($0.offset), $0.element) }
    }

    public override func forward(_ x: Tensor) throws -> Tensor {
        var y = x
        for (i, layer) in layers.enumerated() { y = try call(layer, named: String(i), y) }
        return y
    }
}
