/// Inverted dropout: in training, zeroes each value with probability p and scales the
/// survivors by 1/(1−p); in evaluation, the identity. The mask comes from a generator
/// forked from the global seed when the layer is created, so runs are reproducible.
public final class Dropout: Module {
    public let p: Float
    private var generator: SeededGenerator

    public init(_ p: Float) {
        precondition(p >= 0 && p < 1, "Dropout: p must be in [0, 1)")
        self.p = p
        generator = Random.generator.fork()
    }

    public override var randomStream: SeededGenerator? { generator }
    public override func restoreRandomStream(_ stream: SeededGenerator) { generator = stream }

    public override func forward(_ x: consuming Tensor) throws -> Tensor {
        guard isTraining && p > 0 else { return x }
        let scale = 1 / (1 - p)
        var mask = [Float](repeating: 0, count: x.count)
        for i in mask.indices where generator.nextUnit() >= p { mask[i] = scale }
        return x * Tensor(shape: x.shape, data: mask)
    }
}
