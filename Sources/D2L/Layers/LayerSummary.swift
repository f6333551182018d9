import Foundation

/// The book's layer-by-layer printout and an aligned table of parameters and FLOPs.
///
/// Like the book's loop `for layer in net: X = layer(X); print(...)`, it feeds one random
/// input through the top-level layers of a `Sequential` (a single module otherwise) in
/// evaluation mode without recording gradients; lazy layers are materialised on the way.
public struct LayerSummary {
    public struct Row {
        public let name: String
        public let typeName: String
        public let outputShape: [Int]
        public let parameters: Int
        public let flops: Int
    }
    public let inputShape: [Int]
    public let rows: [Row]
    /// Output elements of every module call of the pass, nested layers included.
    public var activations = 0

    public var totalParameters: Int { rows.reduce(0) { $0 + $1.parameters } }
    public var totalFlops: Int { rows.reduce(0) { $0 + $1.flops } }

    /// Lines like `Conv2d output shape:\t[1, 6, 24, 24]`.
    public var printout: String {
        rows.map { "\($0.typeName) output shape:\t\($0.outputShape.shapeDescription)" }.joined(separator: "\n")
    }

    /// An aligned table: layer, output shape, parameters, FLOPs, with totals.
    public var table: String {
        var lines: [[String]] = [["layer", "type", "output shape", "params", "FLOPs"]]
        for r in rows {
            lines.append([r.name, r.typeName, r.outputShape.shapeDescription, groupDigits(r.parameters), formatFlops(r.flops)])
        }
        lines.append(["total", "", "", groupDigits(totalParameters), formatFlops(totalFlops)])
        let rendered = alignedColumns(lines, rightAligned: [3, 4])
        let rule = String(repeating: "-", count: rendered[0].count)
        let out = [rendered[0], rule] + rendered.dropFirst().dropLast() + [rule, rendered.last!]
        return out.joined(separator: "\n") + "\n(FLOPs for one \(inputShape.shapeDescription) input; a multiply-add counts as 2)"
    }
}

extension Module {
    /// Runs one random input of `inputShape` through the model and records each top-level
    /// layer's output shape, parameter count and FLOPs. Restores the training mode afterwards.
    public func layerSummary(inputShape: [Int]) throws -> LayerSummary {
        let wasTraining = isTraining
        eval()
        defer { train(wasTraining) }
        var generator = SeededGenerator(seed: 42)
        var values = [Float](repeating: 0, count: inputShape.elementCount)
        for i in values.indices { values[i] = generator.normal() }
        var x = Tensor(shape: inputShape, data: values)
        let children = self is Sequential ? namedChildren : [("", self)]
        var rows: [LayerSummary.Row] = []
        FlopCounter.isActive = true
        FlopCounter.activations = 0
        defer { FlopCounter.isActive = false }
        try GradMode.withoutGrad {
            for (name, layer) in children {
                FlopCounter.total = 0
                x = name.isEmpty ? try layer(x) : try call(layer, named: name, x)
                rows.append(.init(name: name.isEmpty ? layer.typeName : name, typeName: layer.typeName,
                                  outputShape: x.shape, parameters: layer.parameterCount, flops: FlopCounter.total))
            }
        }
        var summary = LayerSummary(inputShape: inputShape, rows: rows)
        summary.activations = FlopCounter.activations
        return summary
    }
}
