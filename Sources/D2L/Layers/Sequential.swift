/// Runs its layers in order (PyTorch's `nn.Sequential`). Children are named "0", "1", …, or
/// given names (as `add_module(name, …)` does), which become their state_dict prefixes.
public final class Sequential: Module {
    public let layers: [Module]
    public let names: [String]

    public init(_ layers: [Module]) {
        self.layers = layers
        self.names = layers.indices.map(String.init)
    }
    public convenience init(_ layers: Module...) { self.init(layers) }

    /// Layers with explicit names, e.g. `Sequential(named: [("stem", …), ("stage1", …)])`.
    public init(named: [(String, Module)]) {
        precondition(Set(named.map(\.0)).count == named.count, "Sequential: duplicate layer names")
        self.layers = named.map(\.1)
        self.names = named.map(\.0)
    }

    public override var namedChildren: [(String, Module)] { Array(zip(names, layers)) }

    /// Each layer's output is handed to the next without keeping a reference, so a layer
    /// that can work in place (ReLU) may reuse its input's storage. A `BatchNorm` followed by
    /// a `ReLU` runs as one (`BatchNorm.forwardThenReLU`), and so does a first convolution on
    /// the image followed by a `ReLU` and a `MaxPool2d` (`Conv2d.forwardThenReLUAndMaxPool`):
    /// the same values and gradients, except while FLOPs are being counted, layer by layer.
    public override func forward(_ x: consuming Tensor) throws -> Tensor {
        var y = consume x
        var i = 0
        while i < layers.count {
            if let bn = layers[i] as? BatchNorm, i + 1 < layers.count, layers[i + 1] is ReLU, !FlopCounter.isActive {
                y = try call(bn, named: names[i], consume y, thenReLU: true)
                i += 2
            } else if let conv = layers[i] as? Conv2d, i + 2 < layers.count, layers[i + 1] is ReLU,
                      let pool = layers[i + 2] as? MaxPool2d, !FlopCounter.isActive, conv.runsWithReLUAndMaxPool(on: y, pool) {
                y = conv.forwardThenReLUAndMaxPool(consume y, pool)
                i += 3
            } else {
                y = try call(layers[i], named: names[i], consume y)
                i += 1
            }
        }
        return y
    }
}
