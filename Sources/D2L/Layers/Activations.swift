/// The activation layers: ReLU and the sigmoid, element-wise, without parameters.

public final class ReLU: Module {
    public override init() {}
    public override func forward(_ x: consuming Tensor) throws -> Tensor { x.relu() }
    public override func ownFlops(input: [Int], output: [Int]) -> Int { output.elementCount }
}

public final class Sigmoid: Module {
    public override init() {}
    public override func forward(_ x: consuming Tensor) throws -> Tensor { x.sigmoid() }
    public override func ownFlops(input: [Int], output: [Int]) -> Int { 4 * output.elementCount }
}
