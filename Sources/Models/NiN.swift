import D2L

/// Network in Network (Lin et al., 2013) as in D2L zh 7.3 / en 8.3.

/// A NiN block: a k×k convolution followed by two 1×1 convolutions, each followed by ReLU.
/// The 1×1 convolutions act as a two-layer perceptron applied at every pixel.
public func ninBlock(channels: Int, kernel: Int, stride: Int, padding: Int) -> Sequential {
    Sequential(Conv2d(outChannels: channels, kernel: kernel, stride: stride, padding: padding), ReLU(),
               Conv2d(outChannels: channels, kernel: 1), ReLU(),
               Conv2d(outChannels: channels, kernel: 1), ReLU())
}

/// NiN: four NiN blocks with max pooling between them, dropout, and a last block with one
/// channel per class; global average pooling turns each class channel into its score. No
/// fully connected layer: 1,992,166 parameters. The last block ends in ReLU (as the book), so
/// the pooled scores are non-negative.
public func nin(classes: Int = 10) -> Sequential {
    Sequential(
        ninBlock(channels: 96, kernel: 11, stride: 4, padding: 0), MaxPool2d(kernel: 3, stride: 2),
        ninBlock(channels: 256, kernel: 5, stride: 1, padding: 2), MaxPool2d(kernel: 3, stride: 2),
        ninBlock(channels: 384, kernel: 3, stride: 1, padding: 1), MaxPool2d(kernel: 3, stride: 2),
        Dropout(0.5),
        ninBlock(channels: classes, kernel: 3, stride: 1, padding: 1),
        AdaptiveAvgPool2d(1), Flatten())
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
