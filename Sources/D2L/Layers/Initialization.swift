/// Weight-initialisation schemes for convolution and linear weights.
///
/// - `xavierUniform`: d2l's `init_cnn` / `nn.init.xavier_uniform_`:
///   W ~ U(−a, a), a = √(6 / (fan_in + fan_out)).
/// - `pytorchDefault`: what `nn.Conv2d`/`nn.Linear` do by themselves
///   (`kaiming_uniform_(a=√5)`): W ~ U(−1/√fan_in, 1/√fan_in).
/// Biases always use PyTorch's default U(−1/√fan_in, 1/√fan_in), as the book leaves them.
/// For a conv weight (K, C/groups, kh, kw): fan_in = C/groups·kh·kw, fan_out = K·kh·kw.
public enum WeightInit: String, CaseIterable, Sendable {
    case xavierUniform = "xavier"
    case pytorchDefault = "default"

    func weight(_ shape: [Int]) -> Tensor {
        let receptive = shape.dropFirst(2).reduce(1, *)
        let fanIn = shape[1] * receptive, fanOut = shape[0] * receptive
        let bound: Float
        switch self {
        case .xavierUniform: bound = (6 / Float(fanIn + fanOut)).squareRoot()
        case .pytorchDefault: bound = 1 / Float(fanIn).squareRoot()
        }
        let w = Random.uniform(shape, -bound, bound)
        w.requiresGrad = true
        return w
    }

    func bias(count: Int, fanIn: Int) -> Tensor {
        let bound = 1 / Float(fanIn).squareRoot()
        let b = Random.uniform([count], -bound, bound)
        b.requiresGrad = true
        return b
    }
}
