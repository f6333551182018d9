import D2L
import Foundation

/// The pictures every chapter draws after training (or of loaded weights with --eval-only):
/// what the network learned (filters, feature maps), what it was fed (the first training
/// batch), what it got wrong (confusion matrix, most confident mistakes), where it looks
/// (saliency and Grad-CAM) and which of its channels are dead.
extension ChapterRun {
    /// The files `drawPictures` writes, in the order the report shows them.
    public static let pictureFiles = ["inputs.png", "filters.png", "feature-maps.png", "confusion-matrix.png",
                                      "mistakes.png", "saliency.png", "activations.png"]

    /// Writes every picture of `net` (see `pictureFiles`) and adds the confusion matrix and the
    /// activation statistics to metrics.json.
    /// - Parameters:
    ///   - stages: top-level layers of `net` shown in feature-maps.png, by index, with their names.
    ///   - newestChannels: layers whose row shows their last channels (a dense block's first
    ///     channels are its input, passed through unchanged).
    public func drawPictures(net: Sequential, stages: [Int: String], data: FashionMNIST, modelName: String,
                             newestChannels: Set<Int> = []) throws {
        let resize = BilinearResize(from: data.test.height, to: config.resize)
        try drawInputs(data: data, resize: resize, modelName: modelName)
        try drawFiltersAndFeatureMaps(net: net, stages: stages, data: data, resize: resize, modelName: modelName,
                                      newestChannels: newestChannels)
        let predictions = try Predictions(net, on: data.test, batchSize: Swift.max(config.batchSize, 256), resize: resize)
        try drawConfusion(predictions, modelName: modelName)
        try drawMistakes(predictions, data: data, resize: resize, modelName: modelName)
        try drawSaliency(net: net, stages: stages, predictions: predictions, data: data, resize: resize, modelName: modelName)
        try drawActivations(net: net, stages: stages, data: data, resize: resize, modelName: modelName)
    }

    /// inputs.png: the first training batch after the resize, as the network sees it.
    func drawInputs(data: FashionMNIST, resize: BilinearResize, modelName: String) throws {
        let batch = config.firstBatch(of: data.train)
        let shown = batch.prefix(32)
        let (x, y) = data.train.batch(shown, resize: resize)
        let side = config.resize
        let images = (0..<shown.count).map { Array(x.data[($0 * side * side)..<(($0 + 1) * side * side)]) }
        try imageGrid(images, side: side, captions: y.map { FashionMNIST.classNames[Int($0)] }, columns: 8,
                      title: "The first training batch, as \(modelName) sees it",
                      subtitle: "\(shown.count) of the \(batch.count) images of step 1, resized to \(side)×\(side); values 0 (black) to 1 (white)")
            .writePNG(to: path("inputs.png"))
        show("inputs.png")
    }

    func drawFiltersAndFeatureMaps(net: Sequential, stages stageNames: [Int: String], data: FashionMNIST, resize: BilinearResize,
                                   modelName: String, newestChannels: Set<Int>) throws {
        let (image, label) = data.test.batch(data.test.batches(size: 1)[0], resize: resize)
        if let w = net.firstConvolution?.weight {
            try filterGrid(w, title: "\(modelName): first convolution, \(w.shape[0]) filters \(w.shape[2])×\(w.shape[3])")
                .writePNG(to: path("filters.png"))
            show("filters.png")
        }
        var stages: [(String, Tensor)] = []
        var x = image
        try net.inEvaluationMode { try GradMode.withoutGrad {
            for (i, layer) in net.layers.enumerated() where i <= (stageNames.keys.max() ?? -1) {
                x = try layer(x)
                guard let name = stageNames[i], x.rank == 4 else { continue }
                if newestChannels.contains(i) {
                    let (c, hw) = (x.shape[1], x.shape[2] * x.shape[3]), keep = Swift.min(12, c)
                    let last = Tensor(shape: [1, keep, x.shape[2], x.shape[3]], data: Array(x.data[((c - keep) * hw)...]))
                    stages.append((name + ", last \(keep)", last))
                } else {
                    stages.append((name, x))
                }
            }
        } }
        try featureMapGrid(input: image, stages: stages,
                           title: "A test image (\(FashionMNIST.classNames[Int(label[0])])) through \(modelName)")
            .writePNG(to: path("feature-maps.png"))
        show("feature-maps.png")
    }

    /// confusion-matrix.png, the same counts in metrics.json, and a sentence on the worst pair.
    func drawConfusion(_ predictions: Predictions, modelName: String) throws {
        let names = FashionMNIST.classNames
        let matrix = ConfusionMatrix(predictions, classes: names.count)
        metrics.results["confusion_matrix"] = matrix.json
        try confusionMatrixPlot(matrix, classNames: names, title: "\(modelName): the test set's confusion matrix")
            .writePNG(to: path("confusion-matrix.png"))
        let accuracy = matrix.perClassAccuracy
        let worstClass = accuracy.indices.min { accuracy[$0] < accuracy[$1] }!
        var sentence = String(format: "Test accuracy per class runs from %.3f (%@) to %.3f (%@).", accuracy[worstClass], names[worstClass],
                              accuracy.max()!, names[accuracy.indices.max { accuracy[$0] < accuracy[$1] }!])
        if let worst = matrix.worstConfusion {
            sentence += " The most frequent mistake: \(names[worst.truth]) taken for \(names[worst.predicted]), \(worst.count) times."
        }
        Narration.say(sentence)
        show("confusion-matrix.png")
    }

    /// mistakes.png: the most confident wrong predictions.
    func drawMistakes(_ predictions: Predictions, data: FashionMNIST, resize: BilinearResize, modelName: String) throws {
        let wrong = predictions.mostConfidentMistakes(24)
        let side = config.resize, names = FashionMNIST.classNames
        var images: [[Float]] = [], captions: [String] = []
        if !wrong.isEmpty {
            let x = data.test.batch(ArraySlice(wrong), resize: resize).images
            images = wrong.indices.map { Array(x.data[($0 * side * side)..<(($0 + 1) * side * side)]) }
            captions = wrong.map { i in "\(names[predictions.labels[i]]) →\n" + String(format: "%@ (%.2f)", names[predictions.predicted[i]], predictions.confidence[i]) }
        }
        let count = predictions.labels.indices.filter { predictions.labels[$0] != predictions.predicted[$0] }.count
        try imageGrid(images, side: side, captions: captions, columns: 8,
                      title: "\(modelName): the most confident mistakes",
                      subtitle: "\(wrong.count) of the \(groupDigits(count)) wrong test predictions, by the probability given to the wrong class: true → predicted (p)",
                      highlight: true)
            .writePNG(to: path("mistakes.png"))
        show("mistakes.png")
    }

    /// saliency.png: for the first test image of each class, |∂score/∂x| and Grad-CAM at the last
    /// top-level stage whose map is still at least 3×3.
    func drawSaliency(net: Sequential, stages: [Int: String], predictions: Predictions, data: FashionMNIST, resize: BilinearResize,
                      modelName: String) throws {
        let names = FashionMNIST.classNames, side = config.resize
        let firsts = names.indices.compactMap { c in predictions.labels.firstIndex(of: c) }
        guard !firsts.isEmpty else { return }
        let shapes = try net.layerSummary(inputShape: [1, 1, side, side]).rows.map(\.outputShape)
        guard let stage = shapes.indices.last(where: { shapes[$0].count == 4 && Swift.min(shapes[$0][2], shapes[$0][3]) >= 3 }) else { return }
        let stageName = "\(stages[stage] ?? "layer \(stage) (\(net.layers[stage].typeName))"), \(shapes[stage][2])×\(shapes[stage][3])"
        var rows: [SaliencyRow] = []
        for i in firsts {
            let image = data.test.batch(ArraySlice([i]), resize: resize).images
            let truth = predictions.labels[i]
            let cam = try GradCAM(net, stage: stage, image: image, classIndex: truth)
            rows.append(SaliencyRow(image: image.data, saliency: try saliency(net, image: image, classIndex: truth),
                                    cam: cam.upsampled(to: side),
                                    caption: "\(names[truth]) → \(names[predictions.predicted[i]])"))
        }
        try saliencyFigure(rows, side: side, title: "\(modelName): where it looks", camLayer: stageName)
            .writePNG(to: path("saliency.png"))
        show("saliency.png")
    }

    /// activations.png and metrics.json's `activations`: per top-level layer, dead channels,
    /// mean and standard deviation over the first test images.
    func drawActivations(net: Sequential, stages: [Int: String], data: FashionMNIST, resize: BilinearResize, modelName: String) throws {
        let count = Swift.min(256, data.test.count)
        let images = data.test.batch(data.test.batches(size: count)[0], resize: resize).images
        let stats = try ActivationStatistics(net, images: images, labels: stages)
        metrics.results["activations"] = .array(stats.layers.map {
            .object(["layer": .string($0.name), "mean": .number($0.mean), "std": .number($0.std), "dead_fraction": .number($0.deadFraction)])
        })
        try activationsPlot(stats, title: "\(modelName): what each layer outputs",
                            subtitle: "Over the first \(count) test images in evaluation mode; a dead channel is 0 for every image and position.")
            .writePNG(to: path("activations.png"))
        let dead = stats.layers.filter { $0.deadFraction > 0 }
        if let most = dead.max(by: { $0.deadFraction < $1.deadFraction }) {
            Narration.say(String(format: "%d of the %d top-level layers have dead channels; the most, %.0f%%, in %@.",
                                 dead.count, stats.layers.count, most.deadFraction * 100, most.name))
        } else {
            Narration.say("No top-level layer has a dead channel over the first \(count) test images.")
        }
        show("activations.png")
    }
}
