import D2L

/// The networks of 7.6's exercises 3 and 4, built as the book builds `Residual` (biases on the
/// convolutions, no batch norm on a 1×1 shortcut).

/// The bottleneck block of the deeper ResNets (He et al., 2016, Fig. 5): a 1×1 convolution
/// reduces to `channels` (the bottleneck), a 3×3 convolution works there, a 1×1 convolution
/// expands to 4 × `channels`; each with batch norm, ReLU after the first two and after the sum.
///   Y = ReLU(BN₁(conv1 1×1 → c)), Y = ReLU(BN₂(conv2 3×3 stride s → c)), Y = BN₃(conv3 1×1 → 4c),
///   output = ReLU(Y + shortcut(X)), shortcut: X, or conv4 1×1 stride s → 4c.
public final class BottleneckResidual: Module {
    public static let expansion = 4
    public let conv1: Conv2d, conv2: Conv2d, conv3: Conv2d, conv4: Conv2d?
    public let bn1 = BatchNorm(), bn2 = BatchNorm(), bn3 = BatchNorm()

    public init(_ channels: Int, use1x1Conv: Bool = false, strides: Int = 1) {
        conv1 = Conv2d(outChannels: channels, kernel: 1)
        conv2 = Conv2d(outChannels: channels, kernel: 3, stride: strides, padding: 1)
        conv3 = Conv2d(outChannels: channels * Self.expansion, kernel: 1)
        conv4 = use1x1Conv ? Conv2d(outChannels: channels * Self.expansion, kernel: 1, stride: strides) : nil
    }

    public override var namedChildren: [(String, Module)] {
        var c: [(String, Module)] = [("conv1", conv1), ("conv2", conv2), ("conv3", conv3)]
        if let conv4 { c.append(("conv4", conv4)) }
        return c + [("bn1", bn1), ("bn2", bn2), ("bn3", bn3)]
    }

    public override func forward(_ x: consuming Tensor) throws -> Tensor {
        let input = x
        var y = try call(bn1, named: "bn1", try call(conv1, named: "conv1", input), thenReLU: true)
        y = try call(bn2, named: "bn2", try call(conv2, named: "conv2", y), thenReLU: true)
        y = try call(bn3, named: "bn3", try call(conv3, named: "conv3", y))
        let shortcut = try conv4.map { try call($0, named: "conv4", input) } ?? input
        return try residualAdd(y, shortcut, typeName).relu()
    }
}

/// ResNet-18's layout (stem, four stages of two blocks, 64…512 channels) with bottleneck
/// blocks: each stage's 3×3 convolutions keep ResNet-18's widths and its outputs are 4× as
/// wide (256…2048), as in ResNet-50, which has 3, 4, 6 and 3 such blocks (`blocks`).
public func bottleneckResNet(blocks: [Int] = [2, 2, 2, 2], classes: Int = 10) -> Sequential {
    let widths = [64, 128, 256, 512]
    let stages = zip(widths, blocks).enumerated().map { s, stage in
        Sequential((0..<stage.1).map { i in
            i == 0 ? BottleneckResidual(stage.0, use1x1Conv: true, strides: s == 0 ? 1 : 2) : BottleneckResidual(stage.0)
        })
    }
    return Sequential([resNetStem()] + stages + [AdaptiveAvgPool2d(1), Flatten(), Linear(classes)])
}

/// Pre-activation ResNet-18: the book's stem, four stages of two pre-activation blocks
/// (`Residual(preActivation: true)`), then the batch norm and ReLU that the last block no
/// longer ends with, pooling and the classifier.
public func preActivationResNet18(classes: Int = 10) -> Sequential {
    let stages = [64, 128, 256, 512].enumerated().map { s, c in
        Sequential(s == 0 ? Residual(c, preActivation: true) : Residual(c, use1x1Conv: true, strides: 2, preActivation: true),
                   Residual(c, preActivation: true))
    }
    return Sequential([resNetStem()] + stages + [BatchNorm(), ReLU(), AdaptiveAvgPool2d(1), Flatten(), Linear(classes)])
}
