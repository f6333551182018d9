import D2L

/// Network in Network (Lin et al., 2013) as in D2L zh 7.3 / en 8.3.

/// A NiN block: a k×k convolution followed by two 1×1 convolutions, each followed by ReLU.
/// The 1×1 convolutions act as a two-layer perceptron applied at every pixel.
/// - Parameters:
///   - mixing: how many convolutions follow the first (the book: 2).
///   - mixingKernel: their kernel size (the book: 1; 3 pads by 1 and keeps the size).
public func ninBlock(channels: Int, kernel: Int, stride: Int, padding: Int, mixing: Int = 2, mixingKernel: Int = 1) -> Sequential {
    var layers: [Module] = [Conv2d(outChannels: channels, kernel: kernel, stride: stride, padding: padding), ReLU()]
    for _ in 0..<mixing {
        layers += [Conv2d(outChannels: channels, kernel: mixingKernel, padding: mixingKernel / 2), ReLU()]
    }
    return Sequential(layers)
}

/// NiN: four NiN blocks with max pooling between them, dropout, and a last block with one
/// channel per class; global average pooling turns each class channel into its score. No
/// fully connected layer: 1,992,166 parameters. The last block ends in ReLU (as the book), so
/// the pooled scores are non-negative.
/// - Parameters:
///   - mixing, mixingKernel: passed to every block (7.3's exercises 1 and 2).
///   - denseHead: replace global average pooling by flattening the last block's map into a
///     dense layer to `classes` scores (exercise 3).
public func nin(classes: Int = 10, mixing: Int = 2, mixingKernel: Int = 1, denseHead: Bool = false) -> Sequential {
    func block(_ c: Int, _ k: Int, _ s: Int, _ p: Int) -> Sequential {
        ninBlock(channels: c, kernel: k, stride: s, padding: p, mixing: mixing, mixingKernel: mixingKernel)
    }
    return Sequential(
        block(96, 11, 4, 0), MaxPool2d(kernel: 3, stride: 2),
        block(256, 5, 1, 2), MaxPool2d(kernel: 3, stride: 2),
        block(384, 3, 1, 1), MaxPool2d(kernel: 3, stride: 2),
        Dropout(0.5),
        block(classes, 3, 1, 1),
        denseHead ? Flatten() : AdaptiveAvgPool2d(1), denseHead ? Linear(classes) : Flatten())
}

/// Whether the first layer of NiN's last block (a 3×3 convolution to `classes` channels and
/// its ReLU) outputs 0 everywhere for `images`, in evaluation mode. Such a network cannot
/// learn: no gradient passes those ReLUs, so nothing before them ever changes and the loss
/// stays at ln(classes). At small sizes it happens with some initialisations (at 67×67 the
/// block sees a single pixel, so each of its ReLUs is one bias plus a weak signal).
public func ninLastBlockIsDead(_ net: Sequential, images: Tensor) throws -> Bool {
    guard net.layers.count == 10, let last = net.layers[7] as? Sequential, last.layers.count >= 2 else {
        throw LayerError("NiN", "ninLastBlockIsDead expects the network built by nin()")
    }
    return try net.inEvaluationMode {
        try GradMode.withoutGrad {
            var h = images
            for layer in net.layers.prefix(7) { h = try layer(h) }
            h = try last.layers[1](try last.layers[0](h))
            return h.data.allSatisfy { $0 == 0 }
        }
    }
}
