/// How often each true class was predicted as each class: `counts[t][p]` images of class t
/// were predicted as p. Rows sum to the number of test images of each class.
public struct ConfusionMatrix: Sendable, Equatable {
    public let classes: Int
    public private(set) var counts: [[Int]]

    public init(classes: Int) {
        self.classes = classes
        counts = Array(repeating: Array(repeating: 0, count: classes), count: classes)
    }

    public init(_ predictions: Predictions, classes: Int) {
        self.init(classes: classes)
        for (t, p) in zip(predictions.labels, predictions.predicted) { counts[t][p] += 1 }
    }

    /// Images of class `t`.
    public func total(_ t: Int) -> Int { counts[t].reduce(0, +) }

    /// The fraction of class t's images predicted as p (0 for a class with no images).
    public func rate(_ t: Int, _ p: Int) -> Double {
        let n = total(t)
        return n > 0 ? Double(counts[t][p]) / Double(n) : 0
    }

    /// Per class, the fraction of its images predicted correctly (recall).
    public var perClassAccuracy: [Double] { (0..<classes).map { rate($0, $0) } }

    /// All images predicted correctly over all images.
    public var accuracy: Double {
        let all = counts.joined().reduce(0, +)
        return all > 0 ? Double((0..<classes).map { counts[$0][$0] }.reduce(0, +)) / Double(all) : 0
    }

    /// The largest off-diagonal count: (true class, predicted class, count), nil if none.
    public var worstConfusion: (truth: Int, predicted: Int, count: Int)? {
        var best: (Int, Int, Int)?
        for t in 0..<classes { for p in 0..<classes where p != t && counts[t][p] > (best?.2 ?? 0) { best = (t, p, counts[t][p]) } }
        return best
    }

    /// For metrics.json: the counts (rows = true class) and the per-class accuracy.
    public var json: JSONValue {
        .object(["counts": .array(counts.map { .array($0.map { .number(Double($0)) }) }),
                 "per_class_accuracy": .array(perClassAccuracy.map { .number($0) })])
    }
}
