import Foundation

/// Softmax cross-entropy, averaged over the batch (PyTorch's `nn.CrossEntropyLoss()`).
///
/// logits z (N, K), labels yₙ ∈ 0..<K:
///   loss = (1/N) Σₙ [ log Σₖ exp(zₙₖ) − zₙ,yₙ ],  computed as log-sum-exp around maxₖ zₙₖ.
/// Backward: ∂loss/∂zₙₖ = (softmax(zₙ)ₖ − 1[k = yₙ]) / N.
public func crossEntropy(_ logits: Tensor, labels: [Int32]) -> Tensor {
    precondition(logits.rank == 2 && logits.shape[0] == labels.count,
                 "crossEntropy: logits \(logits.shape.shapeDescription) for \(labels.count) labels")
    let n = logits.shape[0], k = logits.shape[1]
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
            total += Double(Foundation.log(s) + mx - row[label])
        }
    }}
    let dLogits = logits.gradTarget
    return Tensor.result(shape: [], data: [Float(total / Double(n))], inputs: [logits], saving: [.stored(probs)]) { node in
        let g = node.grad![0] / Float(n)
        let probs = node.savedValues(0)
        dLogits!.withGradBuffer { gz in
            for i in 0..<n {
                for j in 0..<k { gz[i * k + j] += g * probs[i * k + j] }
                gz[i * k + Int(labels[i])] -= g
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
