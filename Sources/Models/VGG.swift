import D2L

/// VGG (Simonyan & Zisserman, 2014) as in D2L zh 7.2 / en 8.2.

/// The book's `conv_arch`: (number of 3×3 convolutions, output channels) per block — VGG-11.
public let vgg11Architecture: [(convs: Int, channels: Int)] = [(1, 64), (1, 128), (2, 256), (2, 512), (2, 512)]

/// The network the book trains: VGG-11 with every block's channels divided by `ratio` = 4
/// (`small_conv_arch`); the fully connected head keeps its 4096 units.
public let vggSmallArchitecture: [(convs: Int, channels: Int)] = vgg11Architecture.map { ($0.convs, $0.channels / 4) }

/// A VGG block: `convs` × (3×3 convolution with padding 1 → ReLU), then 2×2 max pooling with
/// stride 2, which halves height and width.
public func vggBlock(convs: Int, channels: Int) -> Sequential {
    var layers: [Module] = []
    for _ in 0..<convs { layers += [Conv2d(outChannels: channels, kernel: 3, padding: 1), ReLU()] }
    return Sequential(layers + [MaxPool2d(kernel: 2, stride: 2)])
}

/// VGG: one block per entry of `architecture`, then flatten → linear 4096 → ReLU → dropout 0.5 →
/// linear 4096 → ReLU → dropout 0.5 → linear 10. Five blocks halve 224 to 7.
/// `vgg(vggSmallArchitecture)` has 43,093,322 parameters (1 input channel, 10 classes), 99% of
/// them in the head.
public func vgg(_ architecture: [(convs: Int, channels: Int)], classes: Int = 10) -> Sequential {
    Sequential(architecture.map { vggBlock(convs: $0.convs, channels: $0.channels) } + [
        Flatten(),
        Linear(4096), ReLU(), Dropout(0.5),
        Linear(4096), ReLU(), Dropout(0.5),
        Linear(classes),
    ])
}
