import D2L

extension ChapterRun {
    /// Writes filters.png (the filters of the network's first convolution) and feature-maps.png
    /// (the first test image after each of the named top-level layers of `net`, in evaluation mode).
    /// - Parameters:
    ///   - stages: the top-level layers to show, by index, with the name each row gets.
    ///   - newestChannels: layers whose row shows their last channels (a dense block's first
    ///     channels are its input, passed through unchanged).
    public func drawPictures(net: Sequential, stages stageNames: [Int: String], data: FashionMNIST, modelName: String,
                             newestChannels: Set<Int> = []) throws {
        let resize = BilinearResize(from: data.test.height, to: config.resize)
        let (image, label) = data.test.batch(data.test.batches(size: 1)[0], resize: resize)
        guard let w = net.firstConvolution?.weight else { return }
        try filterGrid(w, title: "\(modelName): first convolution, \(w.shape[0]) filters \(w.shape[2])x\(w.shape[3])")
            .writePNG(to: path("filters.png"))
        let wasTraining = net.isTraining
        net.eval()
        defer { net.train(wasTraining) }
        var stages: [(String, Tensor)] = []
        var x = image
        try GradMode.withoutGrad {
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
        }
        try featureMapGrid(input: image, stages: stages,
                           title: "A test image (\(FashionMNIST.classNames[Int(label[0])])) through \(modelName)")
            .writePNG(to: path("feature-maps.png"))
    }
}
