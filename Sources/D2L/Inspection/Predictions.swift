import Foundation

/// What a network predicts for every image of a split: the class it picks and the softmax
/// probability it gives that class (its confidence), next to the true class.
public struct Predictions: Sendable, Equatable {
    public let labels: [Int]
    public let predicted: [Int]
    /// softmax(logits)[predicted] for each image.
    public let confidence: [Float]

    public init(labels: [Int], predicted: [Int], confidence: [Float]) {
        precondition(labels.count == predicted.count && labels.count == confidence.count)
        self.labels = labels; self.predicted = predicted; self.confidence = confidence
    }

    /// From logits (N, classes): the arg-max (the first one on ties, like `argmax`) and its
    /// softmax probability, computed stably as 1 / Σⱼ exp(zⱼ − z_max).
    public init(logits: Tensor, labels: [Int]) {
        precondition(logits.rank == 2 && logits.shape[0] == labels.count)
        let k = logits.shape[1]
        var predicted: [Int] = [], confidence: [Float] = []
        for i in 0..<labels.count {
            let row = logits.data[(i * k)..<((i + 1) * k)]
            let best = row.indices.max { row[$0] < row[$1] || (row[$0] == row[$1] && $0 > $1) }!
            let denominator = row.reduce(0.0) { $0 + exp(Double($1 - row[best])) }
            predicted.append(best - i * k)
            confidence.append(Float(1 / denominator))
        }
        self.init(labels: labels, predicted: predicted, confidence: confidence)
    }

    /// The network's predictions on a whole split, in evaluation mode without a graph.
    public init(_ net: Module, on set: ImageSet, batchSize: Int, resize: BilinearResize) throws {
        var labels: [Int] = [], predicted: [Int] = [], confidence: [Float] = []
        try net.inEvaluationMode { try GradMode.withoutGrad {
            for indices in set.batches(size: batchSize) {
                let (x, y) = set.batch(indices, resize: resize)
                let p = Predictions(logits: try net(x), labels: y.map(Int.init))
                labels += p.labels; predicted += p.predicted; confidence += p.confidence
            }
        } }
        self.init(labels: labels, predicted: predicted, confidence: confidence)
    }

    public var accuracy: Double {
        Double(zip(labels, predicted).filter { $0 == $1 }.count) / Double(Swift.max(labels.count, 1))
    }

    /// Indices of the wrong predictions, the most confident first (ties: lower index first).
    public func mostConfidentMistakes(_ count: Int) -> [Int] {
        labels.indices.filter { labels[$0] != predicted[$0] }
            .sorted { confidence[$0] > confidence[$1] || (confidence[$0] == confidence[$1] && $0 < $1) }
            .prefix(count).map { $0 }
    }
}
