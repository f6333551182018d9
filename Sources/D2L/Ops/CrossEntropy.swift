import Foundation

/// Softmax cross-entropy, averaged over the batch (PyTorch's `nn.CrossEntropyLoss()`).
///
/// logits z (N, K), labels yₙ ∈ 0..<K:
///   loss = (1/N) Σₙ [ log Σₖ exp(zₙₖ) − zₙ,yₙ ],  computed as log-sum-exp around maxₖ zₙₖ.
/// Backward: ∂loss/∂zₙₖ = (softmax(zₙ)ₖ − 1[k = yₙ]) / N.
///
/// With label smoothing ε (PyTorch's `label_smoothing`, Szegedy et al., 2016) the target is
/// qₖ = (1 − ε)·1[k = yₙ] + ε/K instead of the one-hot label:
///   loss = (1/N) Σₙ [ log Σₖ exp(zₙₖ) − Σₖ qₖ zₙₖ ],  ∂loss/∂zₙₖ = (softmax(zₙ)ₖ − qₖ) / N.
public func crossEntropy(_ logits: Tensor, labels: [Int32], labelSmoothing: Float = 0) -> Tensor {
    precondition(logits.rank == 2 && logits.shape[0] == labels.count,
                 "crossEntropy: logits \(logits.shape.shapeDescription) for \(labels.count) labels")
    precondition((0...1).contains(labelSmoothing), "crossEntropy: label smoothing \(labelSmoothing) outside [0, 1]")
    let n = logits.shape[0], k = logits.shape[1]
    let spread = labelSmoothing / Float(k), onLabel = 1 - labelSmoothing
    var probs = [Float](repeating: 0, count: n * k)
    var total = 0.0
    logits.data.withUnsafeBufferPointer { z in probs.withUnsafeMutableBufferPointer { p in
        for i in 0..<n {
            let label = Int(labels[i])
            precondition(label >= 0 && label < k, "crossEntropy: label \(label) outside 0..<\(k)")
            let row = z.baseAddress! + i * k, prow = p.baseAddress! + i * k
            var mx = -Float.infinity
            for j in 0..<k { mx = Swift.max(mx, row[j]) }
            var s: Float = 0
            for j in 0..<k { let e = Foundation.exp(row[j] - mx); prow[j] = e; s += e }
            for j in 0..<k { prow[j] /= s }
            var target = onLabel * row[label]
            if spread != 0 { for j in 0..<k { target += spread * row[j] } }
            total += Double(Foundation.log(s) + mx - target)
        }
    }}
    let dLogits = logits.gradTarget
    return Tensor.result(shape: [], data: [Float(total / Double(n))], inputs: [logits], saving: [.stored(probs)]) { node in
        let g = node.grad![0] / Float(n)
        let probs = node.savedValues(0)
        dLogits!.withGradBuffer { gz in
            for i in 0..<n {
                for j in 0..<k { gz[i * k + j] += g * (probs[i * k + j] - spread) }
                gz[i * k + Int(labels[i])] -= g * onLabel
            }
        }
    }
}

/// How many rows of `logits` have their largest entry at the label (`d2l.accuracy`).
public func correctCount(_ logits: Tensor, labels: [Int32]) -> Int {
    let k = logits.shape[1]
    var correct = 0
    logits.data.withUnsafeBufferPointer { z in
        for i in 0..<labels.count {
            var best = 0
            for j in 1..<k where z[i * k + j] > z[i * k + best] { best = j }
            if best == Int(labels[i]) { correct += 1 }
        }
    }
    return correct
}
