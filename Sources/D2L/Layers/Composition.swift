/// Building blocks for networks that are not a plain chain: parallel branches whose outputs
/// are concatenated (GoogLeNet's Inception, DenseNet's dense blocks) and residual sums (ResNet).

/// Applies every branch to the same input and concatenates the results along channels.
open class ConcatBranches: Module {
    public let branches: [Module]
    public init(_ branches: [Module]) { self.branches = branches }
    open override var namedChildren: [(String, Module)] {
        branches.enumerated().map { (String($0.offset), $0.element) }
    }
    open override func forward(_ x: consuming Tensor) throws -> Tensor {
        let outs = try namedChildren.map { try call($0.1, named: $0.0, copy x) }
        return try concatChecked(outs, typeName)
    }
}

/// Concatenates along axis 1 after checking that every other extent agrees.
public func concatChecked(_ parts: [Tensor], _ layer: String) throws -> Tensor {
    guard let first = parts.first else { throw LayerError(layer, "nothing to concatenate") }
    for p in parts where p.rank != first.rank || p.rank < 2 || p.shape[0] != first.shape[0]
        || Array(p.shape.dropFirst(2)) != Array(first.shape.dropFirst(2)) {
        throw LayerError(layer, "cannot concatenate \(first.shape.shapeDescription) and \(p.shape.shapeDescription) along channels")
    }
    return concatChannels(parts)
}

/// y + x for a residual connection, after checking that the shapes are equal.
public func residualAdd(_ y: Tensor, _ x: Tensor, _ layer: String) throws -> Tensor {
    guard y.shape == x.shape else {
        throw LayerError(layer, "residual branch gives \(y.shape.shapeDescription) but the shortcut gives \(x.shape.shapeDescription); use a 1×1 convolution on the shortcut")
    }
    return y + x
}
