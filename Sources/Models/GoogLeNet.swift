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
public final class Inception: Module {
    public let p1_1: Conv2d
    public let p2_1: Conv2d, p2_2: Conv2d
    public let p3_1: Conv2d, p3_2: Conv2d
    public let p4_1: MaxPool2d, p4_2: Conv2d

    public init(_ c1: Int, _ c2: (Int, Int), _ c3: (Int, Int), _ c4: Int) {
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
    }

    public override func forward(_ x: consuming Tensor) throws -> Tensor {
        let p1 = try call(p1_1, named: "p1_1", copy x).relu()
        let p2 = try call(p2_2, named: "p2_2", try call(p2_1, named: "p2_1", copy x).relu()).relu()
        let p3 = try call(p3_2, named: "p3_2", try call(p3_1, named: "p3_1", copy x).relu()).relu()
        let p4 = try call(p4_2, named: "p4_2", try call(p4_1, named: "p4_1", x)).relu()
        return try concatChecked([p1, p2, p3, p4], typeName)
    }
}

/// GoogLeNet: five stages b1…b5 and a 10-way linear layer; 5,977,530 parameters. At 96×96
/// the stages give 64×24×24, 192×12×12, 480×6×6, 832×3×3 and 1024 features.
public func googLeNet(classes: Int = 10) -> Sequential {
    let b1 = Sequential(Conv2d(outChannels: 64, kernel: 7, stride: 2, padding: 3), ReLU(),
                        MaxPool2d(kernel: 3, stride: 2, padding: 1))
    let b2 = Sequential(Conv2d(outChannels: 64, kernel: 1), ReLU(),
                        Conv2d(outChannels: 192, kernel: 3, padding: 1), ReLU(),
                        MaxPool2d(kernel: 3, stride: 2, padding: 1))
    let b3 = Sequential(Inception(64, (96, 128), (16, 32), 32),
                        Inception(128, (128, 192), (32, 96), 64),
                        MaxPool2d(kernel: 3, stride: 2, padding: 1))
    let b4 = Sequential(Inception(192, (96, 208), (16, 48), 64),
                        Inception(160, (112, 224), (24, 64), 64),
                        Inception(128, (128, 256), (24, 64), 64),
                        Inception(112, (144, 288), (32, 64), 64),
                        Inception(256, (160, 320), (32, 128), 128),
                        MaxPool2d(kernel: 3, stride: 2, padding: 1))
    let b5 = Sequential(Inception(256, (160, 320), (32, 128), 128),
                        Inception(384, (192, 384), (48, 128), 128),
                        AdaptiveAvgPool2d(1), Flatten())
    return Sequential(b1, b2, b3, b4, b5, Linear(classes))
}
