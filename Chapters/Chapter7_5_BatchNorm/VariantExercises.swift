import ChapterKit
import D2L
import Foundation
import Models

/// The exercises of 7.5 that compare versions of the section's LeNet: the chapter's settings
/// (lr 1.0, batch 256, 28×28), two seeds per variant, the same images for all. Quick: 3 epochs
/// of 30,000 images (a few seconds per run) with the learning rate falling to 0 over the last
/// half of the steps, because at a constant 1.0 the evaluation-mode accuracy of these networks
/// swings by tens of points from one epoch to the next; --full: the book's 10 epochs of all
/// 60,000 at a constant rate.
extension BatchNormChapter {
    static func lenetStudy(_ run: ChapterRun, _ variants: [(String, () -> Module)],
                           configure: (String, Trainer) -> Void = { _, _ in }) throws -> VariantTraining {
        try run.trainVariants(variants, epochs: 3, trainLimit: 30_000, testLimit: nil, lrDecay: 0.5, seeds: 2, quiet: true,
                              configure: configure)
    }

    /// Exercise 3: batch norm at all four hidden layers, only after the convolutions, only
    /// after the dense layers, only after the first layer, and nowhere.
    static func whereToNormalize(_ run: ChapterRun) throws -> ExerciseResult {
        let placements: [(String, Set<Int>)] = [("every layer (the book's)", [0, 1, 2, 3]), ("convolutions only", [0, 1]),
                                                ("dense layers only", [2, 3]), ("first layer only", [0]), ("none", [])]
        let study = try lenetStudy(run, placements.map { name, at in (name, { leNet(normalizedAt: at) }) })
        let base = placements[0].0
        let ranked = study.variants.sorted { study.testAccuracy($0) > study.testAccuracy($1) }
        Narration.say("""
        Ranked by test accuracy: \(ranked.map { String(format: "%@ %.3f", $0, study.testAccuracy($0)) }.joined(separator: ", ")). \
        \(study.compare("convolutions only", with: base)). \(study.compare("dense layers only", with: base)). \
        \(study.compare("none", with: base)). Each normalization keeps the sigmoid after it in its steep \
        middle, so gradients reach the layers below; where it is missing the sigmoids can saturate. Which \
        placements matter most is what the ranking shows at this learning rate of \(study.config.learningRate).
        """)
        try run.draw(study.accuracyCurves(title: "LeNet: batch norm at some layers"), to: "exercise-3.png")
        return ExerciseResult(json: study.json.objectValue, pictures: ["exercise-3.png"])
    }

    /// Exercise 4: the book's from-scratch layer, and its versions that only centre or only scale.
    static func liteBatchNorm(_ run: ChapterRun) throws -> ExerciseResult {
        let kinds: [(String, ScratchBatchNorm.Normalization)] = [("mean and variance (batch norm)", .full), ("mean only", .centerOnly),
                                                                 ("variance only", .scaleOnly)]
        var variants = kinds.map { name, kind in
            (name, { leNet(normalizedAt: [0, 1, 2, 3], norm: { ScratchBatchNorm($0, numDims: $1, normalization: kind) }) as Module })
        }
        variants.append(("no normalization", { leNet(normalizedAt: []) }))
        let study = try lenetStudy(run, variants)
        let base = kinds[0].0
        Narration.say("""
        \(study.compare("mean only", with: base)). \(study.compare("variance only", with: base)). \
        \(study.compare("no normalization", with: base)). Subtracting the mean centres each sigmoid's input \
        but leaves its scale to grow; dividing by the standard deviation bounds the scale but leaves the \
        inputs shifted, where a sigmoid is flat. Only the two together keep every input standardised.
        """)
        try run.draw(study.accuracyCurves(title: "LeNet with lite batch normalization"), to: "exercise-4.png")
        return ExerciseResult(json: study.json.objectValue, pictures: ["exercise-4.png"])
    }

    /// Exercise 5: batch norm with γ and β learned, and with both frozen at their initial 1 and 0.
    static func fixedScaleAndShift(_ run: ChapterRun) throws -> ExerciseResult {
        let (learned, fixed) = ("β and γ learned", "β = 0 and γ = 1 fixed")
        var frozen = 0
        var frozenTensors: [Tensor] = []
        let study = try lenetStudy(run, [(learned, { bnLeNet() }), (fixed, { bnLeNet() })]) { name, trainer in
            guard name == fixed else { return }
            frozen = 0
            frozenTensors = []
            for (_, module) in trainer.net.namedModules where module is BatchNorm {
                for p in module.parameters { p.requiresGrad = false; frozen += p.count; frozenTensors.append(p) }
            }
        }
        // The distinct values the fixed γ and β hold after training (the last seed's network): 0 and 1.
        let fixedValues = Set(frozenTensors.flatMap(\.data)).sorted()
        Narration.say("""
        \(study.compare(fixed, with: learned)). With β and γ fixed every sigmoid receives inputs of mean 0 and \
        variance 1, its near-linear middle: the layer loses the freedom to choose where on the sigmoid to \
        work, which β and γ give back (with γ = √(σ² + ε) and β = μ it can even undo the normalization). \
        The fixed network has \(groupDigits(study.parameters(learned) - frozen)) parameters that learn, \(frozen) fewer.
        """)
        try run.draw(study.accuracyCurves(title: "Batch norm with β and γ learned or fixed"), to: "exercise-5.png")
        return ExerciseResult(json: study.json.objectValue.merging(["fixed_parameters": .number(Double(frozen)),
                                                                   "fixed_values_after_training": .array(fixedValues.map { .number(Double($0)) })]) { a, _ in a },
                              pictures: ["exercise-5.png"])
    }

    /// Exercise 6: dropout 0.5 after the hidden dense layers, batch norm everywhere, both, neither.
    static func dropoutOrBatchNorm(_ run: ChapterRun) throws -> ExerciseResult {
        let all: Set<Int> = [0, 1, 2, 3]
        let variants: [(String, () -> Module)] = [("batch norm", { leNet(normalizedAt: all) }), ("dropout", { leNet(normalizedAt: [], dropout: 0.5) }),
                                                  ("both", { leNet(normalizedAt: all, dropout: 0.5) }), ("neither", { leNet(normalizedAt: []) })]
        let study = try lenetStudy(run, variants)
        func gap(_ v: String) -> Double { study.trainAccuracy(v) - study.testAccuracy(v) }
        func loss(_ v: String) -> Double {
            let losses = study.runs(of: v).compactMap { $0.diverged ? nil : $0.history.last?.loss }
            return losses.reduce(0, +) / Double(Swift.max(losses.count, 1))
        }
        let gaps = study.variants.map { String(format: "%@ %+.3f", $0, gap($0)) }
        let slows = loss("dropout") > loss("neither")
        Narration.say("""
        \(study.compare("dropout", with: "batch norm")). \(study.compare("both", with: "batch norm")). \
        \(study.compare("neither", with: "batch norm")). Train minus test accuracy: \(gaps.joined(separator: ", ")). \
        Batch normalization is mainly an aid to optimisation, with some regularisation from the noise of \
        batch statistics; dropout is only a regulariser\(slows ? String(format: ", and here it slows the sigmoid LeNet down (final training loss %.3f with dropout, %.3f without)", loss("dropout"), loss("neither")) : ""). \
        \(gap("batch norm") < 0.05 ? String(format: "With batch norm the network overfits little at this budget (a gap of %.3f), so there is little for dropout to do: batch norm can replace it here.", gap("batch norm"))
            : String(format: "With batch norm alone the network's training accuracy exceeds its test accuracy by %.3f: that gap is what dropout would work on%@.", gap("batch norm"),
                     study.testAccuracy("both") > study.testAccuracy("batch norm") ? ", and adding it helps here" : ""))
        """)
        try run.draw(study.accuracyCurves(title: "LeNet: dropout, batch norm, both or neither"), to: "exercise-6.png")
        return ExerciseResult(json: study.json.objectValue, pictures: ["exercise-6.png"])
    }
}
