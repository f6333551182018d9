import D2L

/// DenseNet (Huang et al., 2017) as in D2L zh 7.7 / en 8.7.

/// BN → ReLU → 3×3 convolution (the book's `conv_block`).
public func denseConvBlock(_ numChannels: Int) -> Sequential {
    Sequential(BatchNorm(), ReLU(), Conv2d(outChannels: numChannels, kernel: 3, padding: 1))
}

/// A dense block: `numConvs` conv blocks, each seeing the concatenation of the block's input
/// and every earlier block's output: X ← cat(X, conv_i(X)) along channels. It adds
/// numConvs · growth channels. The child is named `net` as the book's attribute.
public final class DenseBlock: Module {
    public let net: Sequential

    public init(_ numConvs: Int, growth: Int) {
        net = Sequential((0..<numConvs).map { _ in denseConvBlock(growth) })
    }

    /// A dense block of the given layers (each adding its output's channels), e.g. DenseNet-BC's
    /// bottleneck layers.
    public init(layers: [Module]) {
        net = Sequential(layers)
    }

    public override var namedChildren: [(String, Module)] { [("net", net)] }

    public override func forward(_ x: consuming Tensor) throws -> Tensor {
        var x = x
        for (i, block) in net.layers.enumerated() {
            let y = try call(block, named: "net.\(i)", x)
            x = try concatChecked([x, y], typeName)
        }
        return x
    }
}

/// BN → ReLU → 1×1 convolution to `numChannels` → 2×2 average pooling (stride 2): halves
/// height and width and cuts the channels the dense blocks piled up (`transition_block`).
/// `maxPool` takes the maximum instead (7.7's first exercise).
public func transitionBlock(_ numChannels: Int, maxPool: Bool = false) -> Sequential {
    Sequential(BatchNorm(), ReLU(), Conv2d(outChannels: numChannels, kernel: 1),
               maxPool ? MaxPool2d(kernel: 2, stride: 2) : AvgPool2d(kernel: 2, stride: 2))
}

/// The book's DenseNet: ResNet's stem, four dense blocks of 4 convolutions with growth rate
/// 32, a transition halving the channels between blocks, then BN, ReLU, global average
/// pooling and a 10-way linear layer. Channels: 64 → 192 → 96 → 224 → 112 → 240 → 120 → 248.
/// 758,226 parameters for 1-channel input.
public func denseNet(classes: Int = 10, growth: Int = 32, convsPerBlock: [Int] = [4, 4, 4, 4], transitionMaxPool: Bool = false) -> Sequential {
    var layers: [Module] = [resNetStem()]
    var channels = 64
    for (i, convs) in convsPerBlock.enumerated() {
        layers.append(DenseBlock(convs, growth: growth))
        channels += convs * growth
        if i != convsPerBlock.count - 1 {
            channels /= 2
            layers.append(transitionBlock(channels, maxPool: transitionMaxPool))
        }
    }
    layers += [BatchNorm(), ReLU(), AdaptiveAvgPool2d(1), Flatten(), Linear(classes)]
    return Sequential(layers)
}
