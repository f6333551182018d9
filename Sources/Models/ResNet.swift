import D2L

/// ResNet (He et al., 2016) as in D2L zh 7.6 / en 8.6.

/// The residual block: two 3×3 convolutions with batch norm, added to the input.
///   Y = ReLU(BN₁(conv₁(X))),  Y = BN₂(conv₂(Y)),  output = ReLU(Y + shortcut(X)),
/// where shortcut is the identity, or a 1×1 convolution with the block's stride when the
/// shape changes (`use1x1Conv`; no batch norm on it, as the book). Children are named as the
/// book's attributes (`conv1`, `conv2`, `conv3`, `bn1`, `bn2`), which are its state_dict keys.
///
/// With `preActivation` (He et al., 2016b, "Identity mappings in deep residual networks",
/// 7.6's exercise 4) the same layers run as batch norm and ReLU before each convolution, and
/// nothing follows the sum, so the shortcut path is a pure identity from block to block:
///   Y = conv1(ReLU(BN₁(X))),  Y = conv2(ReLU(BN₂(Y))),  output = Y + shortcut(X).
public final class Residual: Module {
    public let conv1: Conv2d, conv2: Conv2d, conv3: Conv2d?
    public let bn1 = BatchNorm(), bn2 = BatchNorm()
    public let preActivation: Bool

    /// - Parameters:
    ///   - numChannels: output channels of both 3×3 convolutions.
    ///   - use1x1Conv: put a 1×1 convolution on the shortcut (needed when channels or size change).
    ///   - strides: stride of the first 3×3 convolution and of the shortcut.
    ///   - preActivation: batch norm and ReLU before each convolution instead of after.
    public init(_ numChannels: Int, use1x1Conv: Bool = false, strides: Int = 1, preActivation: Bool = false) {
        conv1 = Conv2d(outChannels: numChannels, kernel: 3, stride: strides, padding: 1)
        conv2 = Conv2d(outChannels: numChannels, kernel: 3, padding: 1)
        conv3 = use1x1Conv ? Conv2d(outChannels: numChannels, kernel: 1, stride: strides) : nil
        self.preActivation = preActivation
    }

    public override var namedChildren: [(String, Module)] {
        var c: [(String, Module)] = [("conv1", conv1), ("conv2", conv2)]
        if let conv3 { c.append(("conv3", conv3)) }
        return c + [("bn1", bn1), ("bn2", bn2)]
    }

    public override func forward(_ x: consuming Tensor) throws -> Tensor {
        let input = x   // used twice: by conv1 and by the shortcut
        let shortcut = { try self.conv3.map { try self.call($0, named: "conv3", input) } ?? input }
        if preActivation {
            var y = try call(conv1, named: "conv1", try call(bn1, named: "bn1", input, thenReLU: true))
            y = try call(conv2, named: "conv2", try call(bn2, named: "bn2", y, thenReLU: true))
            return try residualAdd(y, try shortcut(), typeName)
        }
        var y = try call(bn1, named: "bn1", try call(conv1, named: "conv1", input), thenReLU: true)
        y = try call(bn2, named: "bn2", try call(conv2, named: "conv2", y))
        return try residualAdd(y, try shortcut(), typeName).relu()
    }
}

/// The stem shared by ResNet and DenseNet: 7×7 conv (64, stride 2, pad 3), BN, ReLU, 3×3 max pool (stride 2, pad 1).
public func resNetStem() -> Sequential {
    Sequential(Conv2d(outChannels: 64, kernel: 7, stride: 2, padding: 3), BatchNorm(), ReLU(),
               MaxPool2d(kernel: 3, stride: 2, padding: 1))
}

/// A stage of `numResiduals` blocks; all but the first stage halve the size and change the
/// channels in their first block (`first_block` in the book).
public func resNetStage(_ numChannels: Int, _ numResiduals: Int, firstBlock: Bool = false) -> Sequential {
    Sequential((0..<numResiduals).map { i in
        i == 0 && !firstBlock ? Residual(numChannels, use1x1Conv: true, strides: 2) : Residual(numChannels)
    })
}

/// ResNet-18: stem, four stages of two residual blocks (64, 128, 256, 512 channels), global
/// average pooling and a 10-way linear layer. 11,178,378 parameters for 1-channel input.
public func resNet18(classes: Int = 10) -> Sequential {
    Sequential(resNetStem(),
               resNetStage(64, 2, firstBlock: true), resNetStage(128, 2), resNetStage(256, 2), resNetStage(512, 2),
               AdaptiveAvgPool2d(1), Flatten(), Linear(classes))
}

/// ResNet-34 of the paper's Table 1 (He et al., 2016), built from the book's blocks: stages of
/// 3, 4, 6 and 3 residual blocks with 64, 128, 256 and 512 channels.
public func resNet34(classes: Int = 10) -> Sequential {
    Sequential(resNetStem(),
               resNetStage(64, 3, firstBlock: true), resNetStage(128, 4), resNetStage(256, 6), resNetStage(512, 3),
               AdaptiveAvgPool2d(1), Flatten(), Linear(classes))
}
