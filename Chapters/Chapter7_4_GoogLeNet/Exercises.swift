import ChapterKit
import D2L
import Foundation
import Models

/// The exercises of 7.4 this program answers.
extension GoogLeNetChapter {
    static let exercises = [
        Exercise([1], .experiment, """
            Does GoogLeNet train better with batch normalization after its convolutions, or with label \
            smoothing in its loss?
            """, answer: batchNormAndLabelSmoothing),
        Exercise([2], .computed, "How small can an input image be and still go through GoogLeNet?", answer: minimumSize),
        Exercise([4, 5], .computed, """
            How many parameters and how much computation do AlexNet, VGG, NiN and GoogLeNet need, and how do \
            NiN and GoogLeNet get by with so few parameters?
            """, answer: parametersAndComputation),
        Exercise([3], .experiment, "A GoogLeNet for 28×28 images: how does it compare with the book's network on the same images?",
                 answer: smallInputVariant),
    ]

    /// Tries sizes upwards: the smallest that goes through at all (with the error one pixel
    /// below), and the smallest at which the last stage still sees more than one position.
    static func minimumSize(_ run: ChapterRun) throws -> ExerciseResult {
        guard let side = minimumInputSide(of: { googLeNet() }) else { throw ExerciseError("no size up to 512 goes through GoogLeNet") }
        var below = "there is no smaller image"
        if side > 1 {
            do {
                let net = googLeNet()
                net.eval()
                _ = try GradMode.withoutGrad { try net(Tensor.zeros([1, 1, side - 1, side - 1])) }
            } catch {
                below = "\(error)"
            }
        }
        // The last stage's map (before global pooling) at each size, until it has 2×2 positions.
        func lastStage(_ s: Int) throws -> [Int] {
            let rows = try googLeNet().layerSummary(inputShape: [1, 1, s, s]).rows
            return rows.last { $0.outputShape.count == 4 }!.outputShape
        }
        var spatial = side
        while try lastStage(spatial)[2] < 2 { spatial += 1 }
        let map = try lastStage(spatial)
        let factor = 224 / (try lastStage(224)[2])     // how much the stages shrink the side
        print("smallest side that runs: \(side)×\(side) (one pixel less: \(below))")
        print("smallest side whose last stage sees 2×2 positions: \(spatial)×\(spatial) (last stage \(map))\n")
        Narration.say(side == 1 ? """
        Any image goes through GoogLeNet, even a single pixel: every convolution and pooling layer pads its \
        input, so no map shrinks below one pixel, and the global average pooling takes whatever size is left. \
        That the network runs is not that it can see: its stem and the poolings between the stages shrink \
        the side by \(factor), so only from \(spatial)×\(spatial) on does the last stage see more than one position \
        (\(map[2])×\(map[3])); below that, each of its \(map[1]) channels sums up the whole image in one number.
        """ : """
        GoogLeNet needs at least \(side)×\(side) pixels; one pixel less fails as shown. Its last stage sees more \
        than one position from \(spatial)×\(spatial) on.
        """)
        return ExerciseResult(json: ["minimum_side": .number(Double(side)), "error_one_pixel_below": .string(below),
                                     "smallest_side_with_2x2_last_stage": .number(Double(spatial))])
    }

    /// Parameters (all, and in dense layers) and forward FLOPs at 224×224 of the four networks.
    static func parametersAndComputation(_ run: ChapterRun) throws -> ExerciseResult {
        let c = try NetworkComparison([("AlexNet", { alexNet() }), ("VGG-11", { vgg(vgg11Architecture) }),
                                       ("NiN", { nin() }), ("GoogLeNet", { googLeNet() })], side: 224)
        print(c.table + "\n")
        let (alex, vgg11, niN, google) = (c.row("AlexNet"), c.row("VGG-11"), c.row("NiN"), c.row("GoogLeNet"))
        Narration.say(String(format: """
        AlexNet keeps %.0f%% of its %@ parameters in its three dense layers and VGG-11 %.0f%% of its %@. NiN \
        has %.1f%% of AlexNet's parameters and GoogLeNet %.1f%%: both end in global average pooling instead \
        of a dense head, which leaves NiN %.1f%% and GoogLeNet %.1f%% of their parameters in dense layers. \
        GoogLeNet also shrinks the channels with 1×1 convolutions before its 3×3 and 5×5 ones.
        """, 100 * alex.denseShare, groupDigits(alex.parameters), 100 * vgg11.denseShare, groupDigits(vgg11.parameters),
                                  100 * Double(niN.parameters) / Double(alex.parameters),
                                  100 * Double(google.parameters) / Double(alex.parameters), 100 * niN.denseShare, 100 * google.denseShare))
        Narration.say(String(format: """
        Computation does not fall with the parameters: GoogLeNet needs %.2f× AlexNet's FLOPs per image with \
        %.0f× fewer parameters, %@ FLOPs per parameter against AlexNet's %@. A chip for GoogLeNet needs less \
        memory and bandwidth for weights but more arithmetic per weight it fetches, and gains from units for \
        small (1×1) convolutions and from caches that hold activations rather than weights.
        """, Double(google.flops) / Double(alex.flops), Double(alex.parameters) / Double(google.parameters),
                                  groupDigits(google.flops / google.parameters), groupDigits(alex.flops / alex.parameters)))
        let picture = "exercise-\(Exercise.fileLabel([4, 5])).png"
        try run.draw(c.chart(title: "Parameters and computation at 224×224"), to: picture)
        return ExerciseResult(json: c.json.objectValue, pictures: [picture])
    }
}

/// An exercise that cannot be answered as asked.
struct ExerciseError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
