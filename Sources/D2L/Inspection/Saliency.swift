/// Where a network looks: gradient saliency and Grad-CAM, both by back-propagation through the
/// core's autograd, in evaluation mode (batch norm uses its running statistics, dropout is off).

/// |∂score_c/∂x| for one image x (1, C, H, W): how much each input pixel moves the score
/// (the logit, before softmax) of class `c` (Simonyan et al., 2014). Summed over channels
/// as absolute values; shape H×W, row-major.
public func saliency(_ net: Module, image: Tensor, classIndex c: Int) throws -> [Float] {
    precondition(image.rank == 4 && image.shape[0] == 1)
    let x = Tensor(shape: image.shape, data: image.data, requiresGrad: true)
    let logits = try net.inEvaluationMode { try net(x) }
    var seed = [Float](repeating: 0, count: logits.count)
    seed[c] = 1
    logits.backward(seed: seed)
    let (channels, hw) = (image.shape[1], image.shape[2] * image.shape[3])
    let g = x.grad ?? [Float](repeating: 0, count: x.count)
    return (0..<hw).map { i in (0..<channels).reduce(0) { $0 + Swift.abs(g[$1 * hw + i]) } }
}

/// Grad-CAM (Selvaraju et al., 2017) of class `c` at the output A (1, K, h, w) of top-level
/// layer `stage` of `net`: the weight of channel k is the spatial mean of ∂score_c/∂A_k,
/// αₖ = (1/hw) Σᵢⱼ ∂y_c/∂A_k[i, j], and the map is ReLU(Σₖ αₖ·A_k), shape h×w.
/// A is taken as a leaf of its own, so backward stops there and its gradient is kept.
public struct GradCAM: Sendable {
    /// The h×w map, ≥ 0.
    public let map: [Float]
    public let height: Int, width: Int
    /// αₖ per channel.
    public let weights: [Float]

    public init(_ net: Sequential, stage: Int, image: Tensor, classIndex c: Int) throws {
        precondition(net.layers.indices.contains(stage) && image.shape[0] == 1)
        var a = image
        try net.inEvaluationMode { try GradMode.withoutGrad { for layer in net.layers[...stage] { a = try layer(a) } } }
        precondition(a.rank == 4, "Grad-CAM needs a convolutional stage's (1, K, h, w) output")
        let activation = Tensor(shape: a.shape, data: a.data, requiresGrad: true)
        var y = activation
        try net.inEvaluationMode { for layer in net.layers[(stage + 1)...] { y = try layer(y) } }
        var seed = [Float](repeating: 0, count: y.count)
        seed[c] = 1
        y.backward(seed: seed)
        let (k, h, w) = (a.shape[1], a.shape[2], a.shape[3])
        let g = activation.grad ?? [Float](repeating: 0, count: activation.count)
        let alpha = (0..<k).map { ch in g[(ch * h * w)..<((ch + 1) * h * w)].reduce(0, +) / Float(h * w) }
        let values = a.data
        weights = alpha
        map = (0..<(h * w)).map { i in Swift.max(0, (0..<k).reduce(Float(0)) { $0 + alpha[$1] * values[$1 * h * w + i] }) }
        height = h; width = w
    }

    /// The map resized to side×side by bilinear interpolation (pixel centres aligned), for an
    /// overlay on the input image.
    public func upsampled(to side: Int) -> [Float] {
        (0..<(side * side)).map { i in
            let fy = (Double(i / side) + 0.5) * Double(height) / Double(side) - 0.5
            let fx = (Double(i % side) + 0.5) * Double(width) / Double(side) - 0.5
            let y0 = Swift.min(Swift.max(Int(fy.rounded(.down)), 0), height - 1), x0 = Swift.min(Swift.max(Int(fx.rounded(.down)), 0), width - 1)
            let y1 = Swift.min(y0 + 1, height - 1), x1 = Swift.min(x0 + 1, width - 1)
            let ty = Float(Swift.min(Swift.max(fy - Double(y0), 0), 1)), tx = Float(Swift.min(Swift.max(fx - Double(x0), 0), 1))
            let top = map[y0 * width + x0] * (1 - tx) + map[y0 * width + x1] * tx
            let bottom = map[y1 * width + x0] * (1 - tx) + map[y1 * width + x1] * tx
            return top * (1 - ty) + bottom * ty
        }
    }
}
