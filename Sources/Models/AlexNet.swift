import D2L

/// AlexNet (Krizhevsky et al., 2012) as in D2L zh 7.1 / en 8.1: one tower, no local response
/// normalisation, one input channel. 46,764,746 parameters; at 224×224 the last pooling gives
/// 256×5×5 = 6400 features for the first fully connected layer.
///
///   conv 11×11/4 (96) → ReLU → maxpool 3/2
///   conv 5×5 pad 2 (256) → ReLU → maxpool 3/2
///   conv 3×3 pad 1 (384) → ReLU → conv 3×3 (384) → ReLU → conv 3×3 (256) → ReLU → maxpool 3/2
///   flatten → linear 4096 → ReLU → dropout 0.5 → linear 4096 → ReLU → dropout 0.5 → linear 10
/// - Parameter dropout: the dropout probability of the two dense layers (0 removes dropout).
public func alexNet(classes: Int = 10, dropout: Float = 0.5) -> Sequential {
    Sequential(
        Conv2d(outChannels: 96, kernel: 11, stride: 4, padding: 1), ReLU(),
        MaxPool2d(kernel: 3, stride: 2),
        Conv2d(outChannels: 256, kernel: 5, padding: 2), ReLU(),
        MaxPool2d(kernel: 3, stride: 2),
        Conv2d(outChannels: 384, kernel: 3, padding: 1), ReLU(),
        Conv2d(outChannels: 384, kernel: 3, padding: 1), ReLU(),
        Conv2d(outChannels: 256, kernel: 3, padding: 1), ReLU(),
        MaxPool2d(kernel: 3, stride: 2),
        Flatten(),
        Linear(4096), ReLU(), Dropout(dropout),
        Linear(4096), ReLU(), Dropout(dropout),
        Linear(classes))
}

/// AlexNet's design for 28×28 images without resizing them: the same five convolutions and
/// three max poolings, with 3×3 kernels and stride 1 where the original shrinks 224×224 with an
/// 11×11 stride-4 convolution and 5×5 kernels, and half its widths:
///   conv 3×3 pad 1 (48) → ReLU → maxpool 2/2                          28 → 14
///   conv 3×3 pad 1 (128) → ReLU → maxpool 2/2                         14 → 7
///   conv 3×3 pad 1 (192) → ReLU → conv 3×3 (192) → ReLU → conv 3×3 (128) → ReLU → maxpool 3/2   7 → 3
///   flatten (1152) → linear 2048 → ReLU → dropout 0.5 → linear 2048 → ReLU → dropout 0.5 → linear 10
public func alexNet28(classes: Int = 10) -> Sequential {
    Sequential(
        Conv2d(outChannels: 48, kernel: 3, padding: 1), ReLU(), MaxPool2d(kernel: 2, stride: 2),
        Conv2d(outChannels: 128, kernel: 3, padding: 1), ReLU(), MaxPool2d(kernel: 2, stride: 2),
        Conv2d(outChannels: 192, kernel: 3, padding: 1), ReLU(),
        Conv2d(outChannels: 192, kernel: 3, padding: 1), ReLU(),
        Conv2d(outChannels: 128, kernel: 3, padding: 1), ReLU(),
        MaxPool2d(kernel: 3, stride: 2),
        Flatten(),
        Linear(2048), ReLU(), Dropout(0.5),
        Linear(2048), ReLU(), Dropout(0.5),
        Linear(classes))
}
