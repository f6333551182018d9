import D2L

/// LeNet with batch normalisation after every convolution and hidden linear layer
/// (D2L zh 7.5 / en 8.5). Input (N, 1, 28, 28); unlike chapter 6's LeNet the first
/// convolution has no padding: 28 → 24 → 12 → 8 → 4, flattened to 16·4·4 = 256 features.

/// The version with the book's from-scratch `BatchNorm` (channels given explicitly).
public func bnLeNetScratch() -> Sequential {
    Sequential(
        Conv2d(outChannels: 6, kernel: 5), ScratchBatchNorm(6, numDims: 4), Sigmoid(),
        AvgPool2d(kernel: 2, stride: 2),
        Conv2d(outChannels: 16, kernel: 5), ScratchBatchNorm(16, numDims: 4), Sigmoid(),
        AvgPool2d(kernel: 2, stride: 2), Flatten(),
        Linear(120), ScratchBatchNorm(120, numDims: 2), Sigmoid(),
        Linear(84), ScratchBatchNorm(84, numDims: 2), Sigmoid(),
        Linear(10))
}

/// The concise version with the core's fused `BatchNorm` (lazy: becomes `BatchNorm2d` or
/// `BatchNorm1d` from its first input, like PyTorch's `LazyBatchNorm2d`/`LazyBatchNorm1d`).
public func bnLeNet() -> Sequential {
    Sequential(
        Conv2d(outChannels: 6, kernel: 5), BatchNorm(), Sigmoid(),
        AvgPool2d(kernel: 2, stride: 2),
        Conv2d(outChannels: 16, kernel: 5), BatchNorm(), Sigmoid(),
        AvgPool2d(kernel: 2, stride: 2), Flatten(),
        Linear(120), BatchNorm(), Sigmoid(),
        Linear(84), BatchNorm(), Sigmoid(),
        Linear(10))
}

/// The same LeNet without batch normalization (7.5's exercises compare the two).
public func leNetWithoutBN() -> Sequential {
    Sequential(
        Conv2d(outChannels: 6, kernel: 5), Sigmoid(), AvgPool2d(kernel: 2, stride: 2),
        Conv2d(outChannels: 16, kernel: 5), Sigmoid(), AvgPool2d(kernel: 2, stride: 2), Flatten(),
        Linear(120), Sigmoid(), Linear(84), Sigmoid(), Linear(10))
}

/// LeNet as in this section (no padding, sigmoid) with a normalisation layer after some of
/// its four hidden layers, for 7.5's exercises: `positions` are 0 (first convolution), 1
/// (second convolution), 2 (dense 120) and 3 (dense 84); `norm` builds the layer for a
/// position from its features and rank (6, 16, 120, 84; 4, 4, 2, 2). `dropout` adds dropout
/// after the two hidden dense layers. All four positions with `BatchNorm()` is `bnLeNet()`.
public func leNet(normalizedAt positions: Set<Int>, norm: (_ features: Int, _ rank: Int) -> Module = { _, _ in BatchNorm() },
                  dropout: Float = 0) -> Sequential {
    let hidden: [(Module, Int, Int)] = [(Conv2d(outChannels: 6, kernel: 5), 6, 4), (Conv2d(outChannels: 16, kernel: 5), 16, 4),
                                        (Linear(120), 120, 2), (Linear(84), 84, 2)]
    var layers: [Module] = []
    for (i, (layer, features, rank)) in hidden.enumerated() {
        layers.append(layer)
        if positions.contains(i) { layers.append(norm(features, rank)) }
        layers.append(Sigmoid())
        if i < 2 { layers.append(AvgPool2d(kernel: 2, stride: 2)) }
        if i == 1 { layers.append(Flatten()) }
        if i >= 2 && dropout > 0 { layers.append(Dropout(dropout)) }
    }
    layers.append(Linear(10))
    return Sequential(layers)
}
