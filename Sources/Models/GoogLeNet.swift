import D2L

/// GoogLeNet (Szegedy et al., 2015) as in D2L zh 7.4 / en 8.4: no batch norm, no auxiliary
/// classifiers, one input channel.

/// The Inception block: four parallel paths on the same input, concatenated along channels
/// in the order p1, p2, p3, p4 (output channels c1 + c2.1 + c3.1 + c4):
///   p1: 1×1 conv (c1) → ReLU
///   p2: 1×1 conv (c2.0) → ReLU → 3×3 conv pad 1 (c2.1) → ReLU
///   p3: 1×1 conv (c3.0) → ReLU → 5×5 conv pad 2 (c3.1) → ReLU
///   p4: 3×3 max pool stride 1 pad 1 → 1×1 conv (c4) → ReLU
/// Height and width are kept. Children carry the book's attribute names (p1_1 … p4_2).
/// With `batchNorm` every convolution is followed by batch norm before its ReLU (as in
/// Inception v2, Ioffe & Szegedy 2015), named bn1_1 … bn4_2 after the convolution it follows.
public final class Inception: Module {
    public let p1_1: Conv2d
    public let p2_1: Conv2d, p2_2: Conv2d
    public let p3_1: Conv2d, p3_2: Conv2d
    public let p4_1: MaxPool2d, p4_2: Conv2d
    /// The batch norms by the name of the convolution they follow (empty without batch norm).
    public let norms: [String: BatchNorm]

    public init(_ c1: Int, _ c2: (Int, Int), _ c3: (Int, Int), _ c4: Int, batchNorm: Bool = false) {
        norms = batchNorm ? Dictionary(uniqueKeysWithValues: ["1_1", "2_1", "2_2", "3_1", "3_2", "4_2"].map { ($0, BatchNorm()) }) : [:]
        p1_1 = Conv2d(outChannels: c1, kernel: 1)
        p2_1 = Conv2d(outChannels: c2.0, kernel: 1)
        p2_2 = Conv2d(outChannels: c2.1, kernel: 3, padding: 1)
        p3_1 = Conv2d(outChannels: c3.0, kernel: 1)
        p3_2 = Conv2d(outChannels: c3.1, kernel: 5, padding: 2)
        p4_1 = MaxPool2d(kernel: 3, stride: 1, padding: 1)
        p4_2 = Conv2d(outChannels: c4, kernel: 1)
    }

    public override var namedChildren: [(String, Module)] {
        [("p1_1", p1_1), ("p2_1", p2_1), ("p2_2", p2_2), ("p3_1", p3_1), ("p3_2", p3_2), ("p4_1", p4_1), ("p4_2", p4_2)]
            + norms.keys.sorted().map { ("bn" + $0, norms[$0]!) }
    }

    /// conv → [BN →] ReLU for the convolution `p<path>`.
    private func convolve(_ conv: Conv2d, _ path: String, _ x: consuming Tensor) throws -> Tensor {
        let y = try call(conv, named: "p" + path, x)
        guard let bn = norms[path] else { return y.relu() }
        return try call(bn, named: "bn" + path, y, thenReLU: true)
    }

    public override func forward(_ x: consuming Tensor) throws -> Tensor {
        let p1 = try convolve(p1_1, "1_1", copy x)
        let p2 = try convolve(p2_2, "2_2", try convolve(p2_1, "2_1", copy x))
        let p3 = try convolve(p3_2, "3_2", try convolve(p3_1, "3_1", copy x))
        let p4 = try convolve(p4_2, "4_2", try call(p4_1, named: "p4_1", x))
        return try concatChecked([p1, p2, p3, p4], typeName)
    }
}

/// GoogLeNet: five stages b1…b5 and a 10-way linear layer; 5,977,530 parameters. At 96×96
/// the stages give 64×24×24, 192×12×12, 480×6×6, 832×3×3 and 1024 features.
/// - Parameters:
///   - batchNorm: batch norm after every convolution (7.4's exercise 1).
///   - smallInput: the stem for 28×28 images (exercise 3): b1 is a 3×3 convolution with
///     stride 1 and 3×3 max pooling with stride 2 (28 → 14) instead of the 7×7 stride-2
///     convolution and pooling that shrink 96×96 by 4, so the Inception blocks of b3 work on
///     7×7 maps (12×12 at the book's 96×96; 4×4 with the book's stem on 28×28 images).
public func googLeNet(classes: Int = 10, batchNorm: Bool = false, smallInput: Bool = false) -> Sequential {
    func conv(_ c: Int, _ k: Int, stride: Int = 1, padding: Int = 0) -> [Module] {
        [Conv2d(outChannels: c, kernel: k, stride: stride, padding: padding)] + (batchNorm ? [BatchNorm()] : []) + [ReLU()]
    }
    func inception(_ c1: Int, _ c2: (Int, Int), _ c3: (Int, Int), _ c4: Int) -> Inception {
        Inception(c1, c2, c3, c4, batchNorm: batchNorm)
    }
    let b1 = Sequential((smallInput ? conv(64, 3, padding: 1) : conv(64, 7, stride: 2, padding: 3))
                        + [MaxPool2d(kernel: 3, stride: 2, padding: 1)])
    let b2 = Sequential(conv(64, 1) + conv(192, 3, padding: 1) + [MaxPool2d(kernel: 3, stride: 2, padding: 1)])
    let b3 = Sequential(inception(64, (96, 128), (16, 32), 32),
                        inception(128, (128, 192), (32, 96), 64),
                        MaxPool2d(kernel: 3, stride: 2, padding: 1))
    let b4 = Sequential(inception(192, (96, 208), (16, 48), 64),
                        inception(160, (112, 224), (24, 64), 64),
                        inception(128, (128, 256), (24, 64), 64),
                        inception(112, (144, 288), (32, 64), 64),
                        inception(256, (160, 320), (32, 128), 128),
                        MaxPool2d(kernel: 3, stride: 2, padding: 1))
    let b5 = Sequential(inception(256, (160, 320), (32, 128), 128),
                        inception(384, (192, 384), (48, 128), 128),
                        AdaptiveAvgPool2d(1), Flatten())
    return Sequential(b1, b2, b3, b4, b5, Linear(classes))
}
