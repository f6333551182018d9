import D2L

/// AnyNet, the ResNeXt block and RegNetX-32 as in D2L en 8.8 ("Designing Convolution Network
/// Architectures"), after Radosavovic et al. (2020), "Designing Network Design Spaces".

/// The ResNeXt block (D2L en 8.6) with D2L's argument meanings:
///   bot = round(channels · botMul) bottleneck channels, groups = bot / groupWidth;
///   Y = ReLU(BN₁(conv1 1×1 → bot)), Y = ReLU(BN₂(conv2 3×3 grouped, stride s → bot)),
///   Y = BN₃(conv3 1×1 → channels),  output = ReLU(Y + shortcut(X)),
/// where the shortcut is X, or BN₄(conv4 1×1 stride s → channels) with `use1x1Conv`.
/// Children carry the book's attribute names (conv1…conv4, bn1…bn4); convolutions keep their
/// biases as in D2L (pycls drops them).
public final class ResNeXtBlock: Module {
    public let conv1: Conv2d, conv2: Conv2d, conv3: Conv2d, conv4: Conv2d?
    public let bn1 = BatchNorm(), bn2 = BatchNorm(), bn3 = BatchNorm(), bn4: BatchNorm?
    /// Channels inside the bottleneck and the number of groups of the 3×3 convolution.
    public let bottleneckChannels: Int, groups: Int

    /// - Parameters:
    ///   - channels: output channels.
    ///   - groupWidth: channels per group of the 3×3 convolution (D2L's `groups` argument).
    ///   - botMul: bottleneck channels ÷ output channels (1/b in the paper's notation).
    public init(channels: Int, groupWidth: Int, botMul: Double, use1x1Conv: Bool = false, strides: Int = 1) {
        bottleneckChannels = Self.bottleneckWidth(channels: channels, botMul: botMul)
        groups = Swift.max(bottleneckChannels / Swift.max(groupWidth, 1), 1)
        conv1 = Conv2d(outChannels: bottleneckChannels, kernel: 1)
        conv2 = Conv2d(outChannels: bottleneckChannels, kernel: 3, stride: strides, padding: 1, groups: groups)
        conv3 = Conv2d(outChannels: channels, kernel: 1)
        conv4 = use1x1Conv ? Conv2d(outChannels: channels, kernel: 1, stride: strides) : nil
        bn4 = use1x1Conv ? BatchNorm() : nil
    }

    /// D2L's `int(round(num_channels * bot_mul))` (Python rounds halves to even).
    public static func bottleneckWidth(channels: Int, botMul: Double) -> Int {
        Int((Double(channels) * botMul).rounded(.toNearestOrEven))
    }

    public override var namedChildren: [(String, Module)] {
        var c: [(String, Module)] = [("conv1", conv1), ("conv2", conv2), ("conv3", conv3),
                                     ("bn1", bn1), ("bn2", bn2), ("bn3", bn3)]
        if let conv4, let bn4 { c += [("conv4", conv4), ("bn4", bn4)] }
        return c
    }

    public override func forward(_ x: consuming Tensor) throws -> Tensor {
        let input = x   // used twice: by conv1 and by the shortcut
        var y = try call(bn1, named: "bn1", try call(conv1, named: "conv1", input), thenReLU: true)
        y = try call(bn2, named: "bn2", try call(conv2, named: "conv2", y), thenReLU: true)
        y = try call(bn3, named: "bn3", try call(conv3, named: "conv3", y))
        var shortcut = input
        if let conv4, let bn4 { shortcut = try call(bn4, named: "bn4", try call(conv4, named: "conv4", input)) }
        return try residualAdd(y, shortcut, typeName).relu()
    }
}

/// One stage of an AnyNet: `depth` ResNeXt blocks with `channels` outputs each.
public struct AnyNetStage: Sendable, Hashable, Codable {
    public var depth: Int
    public var channels: Int
    /// Channels per group of the 3×3 convolutions.
    public var groupWidth: Int
    /// Bottleneck channels ÷ output channels (D2L's `bot_mul`; the paper's b is 1 / botMul).
    public var botMul: Double
    public init(depth: Int, channels: Int, groupWidth: Int, botMul: Double) {
        self.depth = depth; self.channels = channels; self.groupWidth = groupWidth; self.botMul = botMul
    }
    /// Channels inside each block's bottleneck (the paper's w / b).
    public var bottleneckWidth: Int { ResNeXtBlock.bottleneckWidth(channels: channels, botMul: botMul) }
    /// The paper's bottleneck ratio b = 1 / botMul.
    public var bottleneckRatio: Int { Int((1 / botMul).rounded()) }
}

/// The AnyNet stem: 3×3 convolution with stride 2 → BN → ReLU.
public func anyNetStem(_ channels: Int) -> Sequential {
    Sequential(Conv2d(outChannels: channels, kernel: 3, stride: 2, padding: 1), BatchNorm(), ReLU())
}

/// A stage: the first block halves height and width and projects the shortcut, the rest keep the shape.
public func anyNetStage(_ s: AnyNetStage) -> Sequential {
    Sequential((0..<s.depth).map { i in
        i == 0 ? ResNeXtBlock(channels: s.channels, groupWidth: s.groupWidth, botMul: s.botMul, use1x1Conv: true, strides: 2)
               : ResNeXtBlock(channels: s.channels, groupWidth: s.groupWidth, botMul: s.botMul)
    })
}

/// AnyNet: stem, stages `stage1`, `stage2`, …, head (global average pooling → flatten → linear),
/// named as the book's `net.add_module` calls (the stem is `0`).
public func anyNet(stem: Int, stages: [AnyNetStage], classes: Int = 10) -> Sequential {
    var layers: [(String, Module)] = [("0", anyNetStem(stem))]
    for (i, s) in stages.enumerated() { layers.append(("stage\(i + 1)", anyNetStage(s))) }
    layers.append(("head", Sequential(AdaptiveAvgPool2d(1), Flatten(), Linear(classes))))
    return Sequential(named: layers)
}

/// RegNetX-32 (D2L en 8.8): stem 32; stages of depth 4 and 6 with 32 and 80 channels; group
/// width 16; no bottleneck (botMul 1). 179,290 parameters; trained with PyTorch's default init.
public let regNetX32Stages = [AnyNetStage(depth: 4, channels: 32, groupWidth: 16, botMul: 1),
                              AnyNetStage(depth: 6, channels: 80, groupWidth: 16, botMul: 1)]

public func regNetX32(classes: Int = 10) -> Sequential {
    anyNet(stem: 32, stages: regNetX32Stages, classes: classes)
}

/// The book's RegNetX32 (en 1.0) is a `d2l.Classifier` holding the network as `self.net`, so its
/// `state_dict` names start with `net.` (`net.0.0.weight`, `net.stage1.0.conv1.weight`, `net.head.2.weight`).
public let regNetStateDictPrefix = "net."
