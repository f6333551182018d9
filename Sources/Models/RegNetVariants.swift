import D2L

/// The networks of 8.8's exercises 1 and 2 (en 1.0.3; 7.8 here): RegNetX-32 with a third and
/// fourth stage, and RegNetX-32's layout with the book's ResNet blocks.

/// Four stages where RegNetX-32 has two: widths 32, 48, 80 and 128, depths 2, 2, 3 and 3,
/// group width 16, no bottleneck. Widths and depths do not decrease from stage to stage (the
/// paper's AnyNetX_E rules), and every width is a multiple of the group width.
public let regNetX4StageStages = [AnyNetStage(depth: 2, channels: 32, groupWidth: 16, botMul: 1),
                                  AnyNetStage(depth: 2, channels: 48, groupWidth: 16, botMul: 1),
                                  AnyNetStage(depth: 3, channels: 80, groupWidth: 16, botMul: 1),
                                  AnyNetStage(depth: 3, channels: 128, groupWidth: 16, botMul: 1)]

/// An AnyNet whose stages are made of the book's ResNet blocks (`Residual`: two 3×3
/// convolutions, no groups, no bottleneck) instead of ResNeXt blocks, with the same stem,
/// widths, depths and head; the first block of each stage halves the size.
public func anyNetWithResNetBlocks(stem: Int, stages: [AnyNetStage], classes: Int = 10) -> Sequential {
    var layers: [(String, Module)] = [("0", anyNetStem(stem))]
    for (i, s) in stages.enumerated() {
        layers.append(("stage\(i + 1)", Sequential((0..<s.depth).map { j in
            j == 0 ? Residual(s.channels, use1x1Conv: true, strides: 2) : Residual(s.channels)
        })))
    }
    layers.append(("head", Sequential(AdaptiveAvgPool2d(1), Flatten(), Linear(classes))))
    return Sequential(named: layers)
}
