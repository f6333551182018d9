import ChapterKit
import D2L
import Foundation
import Models

extension VGGChapter {
    /// Four blocks of two 3×3 convolutions each (VGG-13's blocks, the book's ÷4 widths) for
    /// 56×56 inputs: four halvings leave 3×3, and every block applies two nonlinearities before
    /// it downsamples, as the VGG paper's deeper configurations do.
    static let vgg56Architecture: [(convs: Int, channels: Int)] = [(2, 16), (2, 32), (2, 64), (2, 128)]

    /// Exercise 4: the book's small VGG at 56 and at 84, and the adapted four-block VGG at 56
    /// (with --full also the small VGG at the book's 224), same images and settings.
    /// Quick: 1 epoch of 20,000 images.
    static func smallerInputs(_ run: ChapterRun) throws -> ExerciseResult {
        let config = run.exerciseConfig(epochs: 1, trainLimit: 20_000, testLimit: 2_000)
        let data = try run.loadData(trainLimit: config.trainLimit, testLimit: config.testLimit)
        let sides = (run.settings.profile == "full" ? [224] : []) + [56, 84]
        var variants: [(String, () -> Module)] = sides.map { ("small VGG at \($0)×\($0)", { vgg(vggSmallArchitecture) }) }
        let adapted = "4-block VGG at 56×56"
        variants.append((adapted, { vgg(vgg56Architecture) }))
        func side(_ name: String) -> Int { name == adapted ? 56 : sides[variants.firstIndex { $0.0 == name }!] }
        print("The adapted network, \(vgg56Architecture.map { "(\($0.convs), \($0.channels))" }.joined(separator: ", ")), at 56×56:")
        print(try vgg(vgg56Architecture).layerSummary(inputShape: [1, 1, 56, 56]).printout + "\n")
        let study = try VariantTraining(variants, config: config, data: data) { name, c in c.resize = side(name) }
        print(study.table + "\n")
        let flops = try Dictionary(uniqueKeysWithValues: variants.map { name, make in
            (name, try make().layerSummary(inputShape: [1, 1, side(name), side(name)]).totalFlops)
        })
        let (at56, at84) = ("small VGG at 56×56", "small VGG at 84×84")
        Narration.say(String(format: """
        At 56×56 the book's five halvings leave a 1×1 map for the dense layers, at 84×84 a 2×2 one (224×224: 7×7). \
        %@; %@. Per image the small VGG needs %@FLOPs at 56 and %@FLOPs at 84 (%@FLOPs at 224), the adapted \
        network %@FLOPs; it trains at %.0f images/s against %.0f and %.0f. %@
        """, study.compare(at84, with: at56), study.compare(adapted, with: at56), formatFlops(flops[at56]!), formatFlops(flops[at84]!),
            formatFlops(try vgg(vggSmallArchitecture).layerSummary(inputShape: [1, 1, 224, 224]).totalFlops), formatFlops(flops[adapted]!),
            study.imagesPerSecond(adapted), study.imagesPerSecond(at56), study.imagesPerSecond(at84),
            study.testAccuracy(adapted) >= study.testAccuracy(at84)
                ? String(format: "Dropping one halving and adding a convolution per block does as well as the larger input here, for %.0f%% of its FLOPs.",
                         100 * Double(flops[adapted]!) / Double(flops[at84]!))
                : "At this budget the larger input still wins."))
        try run.draw(study.chart(title: "VGG on smaller inputs"), to: "exercise-4.png")
        var json = study.json.objectValue
        json["forward_flops"] = .object(flops.mapValues { .number(Double($0)) })
        return ExerciseResult(json: json, pictures: ["exercise-4.png"])
    }
}
