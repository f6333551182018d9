import D2L

/// DenseNet-BC as in Table 1 of Huang et al. (2017), the DenseNet-121/169/201/264 of the paper
/// and of torchvision: a 7×7 stride-2 stem with 2k channels and 3×3 max pooling; dense blocks
/// whose layers are bottlenecks (BN → ReLU → 1×1 convolution to 4k → BN → ReLU → 3×3
/// convolution to k, k the growth rate); between blocks a transition that halves the channels
/// (compression 0.5) and the size; then BN, ReLU, global average pooling and a linear layer.
/// Convolutions have no bias, as in the paper's models (batch norm follows each of them).
public func denseNetBC(layersPerBlock: [Int], growth: Int = 32, classes: Int = 10) -> Sequential {
    var layers: [Module] = [Sequential(Conv2d(outChannels: 2 * growth, kernel: 7, stride: 2, padding: 3, bias: false), BatchNorm(), ReLU(),
                                       MaxPool2d(kernel: 3, stride: 2, padding: 1))]
    var channels = 2 * growth
    for (i, count) in layersPerBlock.enumerated() {
        layers.append(DenseBlock(layers: (0..<count).map { _ in
            Sequential(BatchNorm(), ReLU(), Conv2d(outChannels: 4 * growth, kernel: 1, bias: false),
                       BatchNorm(), ReLU(), Conv2d(outChannels: growth, kernel: 3, padding: 1, bias: false))
        }))
        channels += count * growth
        if i != layersPerBlock.count - 1 {
            channels /= 2
            layers.append(Sequential(BatchNorm(), ReLU(), Conv2d(outChannels: channels, kernel: 1, bias: false), AvgPool2d(kernel: 2, stride: 2)))
        }
    }
    return Sequential(layers + [BatchNorm(), ReLU(), AdaptiveAvgPool2d(1), Flatten(), Linear(classes)])
}

/// The paper's Table 1: layers per dense block of DenseNet-121 and DenseNet-169.
public let denseNet121Blocks = [6, 12, 24, 16], denseNet169Blocks = [6, 12, 32, 32]
