/// What each top-level layer of a network outputs for a batch of images, in evaluation mode:
/// the mean and standard deviation of its values, and the fraction of its channels that are
/// zero for every image and position (dead: after a ReLU, no gradient passes them).
public struct ActivationStatistics: Sendable {
    public struct Layer: Sendable {
        public let name: String
        public let shape: [Int]
        public let mean: Double, std: Double
        /// Channels (axis 1) that are exactly 0 everywhere, over all channels.
        public let deadFraction: Double
    }
    public let layers: [Layer]

    /// - Parameter labels: names for some top-level layers by index (otherwise their index and type).
    public init(_ net: Sequential, images: Tensor, labels: [Int: String] = [:]) throws {
        var rows: [Layer] = []
        var x = images
        try net.inEvaluationMode { try GradMode.withoutGrad {
            for (i, (name, layer)) in zip(net.names, net.layers).enumerated() {
                x = try layer(x)
                rows.append(Self.summarise(x, name: labels[i] ?? "layer \(name) (\(layer.typeName))"))
            }
        } }
        layers = rows
    }

    /// The statistics of one activation (N, C, …).
    static func summarise(_ t: Tensor, name: String) -> Layer {
        let n = Double(t.count)
        let mean = t.data.reduce(0.0) { $0 + Double($1) } / n
        let variance = t.data.reduce(0.0) { $0 + (Double($1) - mean) * (Double($1) - mean) } / n
        var dead = 0, channels = 1
        if t.rank >= 2 {
            channels = t.shape[1]
            let per = t.shape[2...].reduce(1, *)
            for c in 0..<channels {
                let alive = (0..<t.shape[0]).contains { i in
                    let base = (i * channels + c) * per
                    return t.data[base..<(base + per)].contains { $0 != 0 }
                }
                if !alive { dead += 1 }
            }
        }
        return Layer(name: name, shape: Array(t.shape.dropFirst()), mean: mean, std: variance.squareRoot(),
                     deadFraction: Double(dead) / Double(channels))
    }
}
