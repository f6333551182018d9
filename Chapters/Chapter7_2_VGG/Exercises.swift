import ChapterKit
import D2L
import Foundation
import Models

/// The exercises of 7.2 this program answers.
extension VGGChapter {
    static let exercises = [
        Exercise([1], .computed, """
            Where do VGG's cost and memory come from next to AlexNet's: parameters, and FLOPs in the \
            convolutions versus the dense layers? How could the dense layers cost less?
            """, answer: againstAlexNet),
        Exercise([2], .computed, "VGG-11 has 11 layers with weights, but its printout has fewer lines: where are the others?",
                 answer: whereAreTheLayers),
        Exercise([3], .computed, "Build VGG-16 and VGG-19 from Table 1 of the VGG paper: shapes and parameters.", answer: vgg16And19),
        Exercise([4], .experiment, """
            Resizing 28×28 images to 224×224 wastes work: train VGG on 56×56 and 84×84 inputs, with the \
            architecture adapted, and compare accuracy and cost.
            """, answer: smallerInputs),
    ]

    /// The paper's configurations D (VGG-16) and E (VGG-19): (3×3 convolutions, channels) per block.
    static let vgg16Architecture: [(convs: Int, channels: Int)] = [(2, 64), (2, 128), (3, 256), (3, 512), (3, 512)]
    static let vgg19Architecture: [(convs: Int, channels: Int)] = [(2, 64), (2, 128), (4, 256), (4, 512), (4, 512)]

    static func againstAlexNet(_ run: ChapterRun) throws -> ExerciseResult {
        let c = try NetworkComparison([("AlexNet", { alexNet() }), ("VGG-11", { vgg(vgg11Architecture) })], side: 224)
        print(c.table + "\n")
        let (alex, vgg11) = (c.row("AlexNet"), c.row("VGG-11"))
        let convFlops = (alex: alex.flops - alex.denseFlops, vgg: vgg11.flops - vgg11.denseFlops)
        Narration.say(String(format: """
        VGG-11 has %.1f× AlexNet's parameters (%@ against %@) and needs %.1f× its FLOPs per image. The \
        parameters sit in the dense layers (%.0f%% of VGG-11's, %.0f%% of AlexNet's), but the computation sits \
        in the convolutions: %.1f%% of VGG-11's FLOPs, %@FLOPs against AlexNet's %@FLOPs, because VGG keeps \
        many 3×3 convolutions with many channels at high resolution. Its dense layers cost %@FLOPs per image, \
        little next to that but %@ parameters to hold, read and update: global average pooling instead of \
        the flatten (NiN, GoogLeNet), or fewer and narrower dense layers, removes most of them.
        """, Double(vgg11.parameters) / Double(alex.parameters), groupDigits(vgg11.parameters), groupDigits(alex.parameters),
            Double(vgg11.flops) / Double(alex.flops), 100 * vgg11.denseShare, 100 * alex.denseShare,
            100 * Double(convFlops.vgg) / Double(vgg11.flops), formatFlops(convFlops.vgg), formatFlops(convFlops.alex),
            formatFlops(vgg11.denseFlops), groupDigits(vgg11.denseParameters)))
        try run.draw(c.chart(title: "AlexNet and VGG-11 at 224×224"), to: "exercise-1.png")
        return ExerciseResult(json: c.json.objectValue, pictures: ["exercise-1.png"])
    }

    static func whereAreTheLayers(_ run: ChapterRun) throws -> ExerciseResult {
        let net = vgg(vgg11Architecture)
        let summary = try net.layerSummary(inputShape: [1, 1, 224, 224])
        print(summary.printout + "\n")
        let convolutions = net.namedModules.filter { $0.1 is Conv2d }.count
        let dense = net.namedModules.filter { $0.1 is Linear }.count
        let blocks = net.layers.filter { $0 is Sequential }.count
        let perBlock = net.layers.compactMap { $0 as? Sequential }.map { b in b.layers.filter { $0 is Conv2d }.count }
        Narration.say("""
        The printout has one line per top-level module, \(summary.rows.count) of them. VGG-11 has \(convolutions) \
        convolutions and \(dense) dense layers, \(convolutions + dense) layers with weights, but its \(convolutions) \
        convolutions sit inside \(blocks) blocks (\(perBlock.map(String.init).joined(separator: ", ")) per block), \
        and a block prints one line: the \(convolutions - blocks) convolutions beyond the first of each block are \
        the ones missing from the printout.
        """)
        return ExerciseResult(json: ["printout_lines": .number(Double(summary.rows.count)), "convolutions": .number(Double(convolutions)),
                                     "dense_layers": .number(Double(dense)), "convolutions_per_block": .array(perBlock.map { .number(Double($0)) })])
    }

    static func vgg16And19(_ run: ChapterRun) throws -> ExerciseResult {
        for (name, architecture) in [("VGG-16", vgg16Architecture), ("VGG-19", vgg19Architecture)] {
            print("\(name): \(architecture.map { "\($0.convs)×\($0.channels)" }.joined(separator: ", ")) (3×3 convolutions × channels per block)")
            print(try vgg(architecture).layerSummary(inputShape: [1, 1, 224, 224]).printout + "\n")
        }
        let ours = try NetworkComparison([("VGG-11", { vgg(vgg11Architecture) }), ("VGG-16", { vgg(vgg16Architecture) }),
                                          ("VGG-19", { vgg(vgg19Architecture) })], side: 224)
        let paper = try NetworkComparison([("VGG-16", { vgg(vgg16Architecture, classes: 1000) }),
                                           ("VGG-19", { vgg(vgg19Architecture, classes: 1000) })], side: 224, channels: 3)
        print(ours.table + "\n")
        print("As the paper builds them, for ImageNet's colour images and 1,000 classes:\n")
        print(paper.table + "\n")
        Narration.say(String(format: """
        For ImageNet (3 channels, 1,000 classes) VGG-16 has %@ parameters and VGG-19 %@, the paper's 138 and \
        144 million; for Fashion-MNIST %@ and %@. The %d extra 3×3 convolutions of VGG-19 add %@ \
        parameters and %.0f%% more FLOPs: depth is cheap in parameters and expensive in computation.
        """, groupDigits(paper.row("VGG-16").parameters), groupDigits(paper.row("VGG-19").parameters),
            groupDigits(ours.row("VGG-16").parameters), groupDigits(ours.row("VGG-19").parameters),
            vgg19Architecture.map(\.convs).reduce(0, +) - vgg16Architecture.map(\.convs).reduce(0, +),
            groupDigits(ours.row("VGG-19").parameters - ours.row("VGG-16").parameters),
            100 * (Double(ours.row("VGG-19").flops) / Double(ours.row("VGG-16").flops) - 1)))
        return ExerciseResult(json: ["fashion_mnist": ours.json, "imagenet": paper.json])
    }
}
