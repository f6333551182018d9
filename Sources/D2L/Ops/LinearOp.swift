/// Fully connected layer y = x·Wᵀ + b, as PyTorch's `nn.Linear` stores W: (out, in).
///
/// Shapes: x (N, in), weight (out, in), bias (out), y (N, out).
/// Backward: ∂x = ∂y·W,  ∂W += ∂yᵀ·x,  ∂b += Σₙ ∂y. Each product is split over the workers.
public func linear(_ x: Tensor, weight: Tensor, bias: Tensor?) -> Tensor {
    precondition(x.rank == 2 && weight.rank == 2 && x.shape[1] == weight.shape[1],
                 "linear: x \(x.shape.shapeDescription), weight \(weight.shape.shapeDescription)")
    let n = x.shape[0], fin = x.shape[1], fout = weight.shape[0]
    var y = [Float](repeating: 0, count: n * fout)
    if let bias {
        for i in 0..<n { for j in 0..<fout { y[i * fout + j] = bias.data[j] } }
    }
    x.data.withUnsafeBufferPointer { px in weight.data.withUnsafeBufferPointer { pw in
    y.withUnsafeMutableBufferPointer { py in
        parallelSgemm(transB: true, m: n, n: fout, k: fin, a: px.baseAddress!, lda: fin,
              b: pw.baseAddress!, ldb: fin, beta: bias == nil ? 0 : 1, c: py.baseAddress!, ldc: fout)
    }}}
    var inputs = [x, weight]
    if let bias { inputs.append(bias) }
    let (dx, dWeight, dBias) = (x.gradTarget, weight.gradTarget, bias?.gradTarget)
    return Tensor.result(shape: [n, fout], data: y, inputs: inputs, saving: [x.keptForBackward]) { node in
        node.grad!.withUnsafeBufferPointer { g in
            if let dx {
                weight.data.withUnsafeBufferPointer { pw in dx.withGradBuffer { gx in
                    parallelSgemm(m: n, n: fin, k: fout, a: g.baseAddress!, lda: fout, b: pw.baseAddress!, ldb: fin,
                          beta: 1, c: gx.baseAddress!, ldc: fin)
                }}
            }
            if let dWeight {
                node.savedValues(0).withUnsafeBufferPointer { px in dWeight.withGradBuffer { gw in
                    parallelSgemm(transA: true, m: fout, n: fin, k: n, a: g.baseAddress!, lda: fout, b: px.baseAddress!, ldb: fin,
                          beta: 1, c: gw.baseAddress!, ldc: fin)
                }}
            }
            if let dBias {
                dBias.withGradBuffer { gb in
                    for i in 0..<n { for j in 0..<fout { gb[j] += g[i * fout + j] } }
                }
            }
        }
    }
}
