import D2L
import Foundation

/// Networks side by side at one input size, for the exercises that compare architectures:
/// parameters (all of them, and those in dense layers) and forward FLOPs per image (all, and in
/// dense layers), from one pass of a single image (`layerSummary`).
public struct NetworkComparison {
    public struct Row {
        public let name: String
        public let parameters: Int, denseParameters: Int
        public let flops: Int, denseFlops: Int
        public var denseShare: Double { Double(denseParameters) / Double(Swift.max(parameters, 1)) }
        public var convolutionParameters: Int { parameters - denseParameters }
    }
    public let side: Int, channels: Int
    public let rows: [Row]

    /// - Parameters:
    ///   - networks: names and builders (called after seeding, so the weights do not matter).
    ///   - channels: input channels (1 for Fashion-MNIST, 3 for ImageNet's colour images).
    public init(_ networks: [(String, () -> Module)], side: Int, channels: Int = 1) throws {
        self.side = side; self.channels = channels
        rows = try networks.map { name, make in
            Random.seed(0)
            let net = make()
            let summary = try net.layerSummary(inputShape: [1, channels, side, side])
            let dense = net.namedModules.filter { $0.1 is Linear }.reduce(0) { $0 + $1.1.parameterCount }
            let denseFlops = summary.rows.filter { $0.typeName == "Linear" }.reduce(0) { $0 + $1.flops }
            return Row(name: name, parameters: summary.totalParameters, denseParameters: dense,
                       flops: summary.totalFlops, denseFlops: denseFlops)
        }
    }

    public func row(_ name: String) -> Row { rows.first { $0.name == name }! }

    /// The table as the terminal shows it.
    public var table: String {
        let header = ["network", "parameters", "in dense layers", "FLOPs per image", "in dense layers"]
        let body = rows.map { r in
            [r.name, groupDigits(r.parameters), String(format: "%.1f%%", 100 * r.denseShare), formatFlops(r.flops) + "FLOPs",
             String(format: "%.1f%%", 100 * Double(r.denseFlops) / Double(Swift.max(r.flops, 1)))]
        }
        return "One \(side)×\(side) image with \(channels) channel\(channels == 1 ? "" : "s") (a multiply-add counts as 2 FLOPs):\n\n"
            + alignedColumns([header] + body, rightAligned: [1, 2, 3, 4]).joined(separator: "\n")
    }

    public var json: JSONValue {
        .object(["side": .number(Double(side)), "channels": .number(Double(channels)), "networks": .array(rows.map {
            .object(["name": .string($0.name), "parameters": .number(Double($0.parameters)),
                     "dense_parameters": .number(Double($0.denseParameters)), "forward_flops": .number(Double($0.flops)),
                     "dense_forward_flops": .number(Double($0.denseFlops))])
        })])
    }

    /// A bar chart of parameters, dense parameters and FLOPs.
    public func chart(title: String) -> Canvas {
        barChart(labels: rows.map(\.name),
                 panels: [("parameters", rows.map { Double($0.parameters) }, { formatFlops(Int($0)) }),
                          ("in dense layers", rows.map { Double($0.denseParameters) }, { formatFlops(Int($0)) }),
                          ("FLOPs per image", rows.map { Double($0.flops) }, { formatFlops(Int($0)) + "FLOPs" })],
                 title: title, subtitle: "One \(side)×\(side) image, \(channels) channel\(channels == 1 ? "" : "s"); each panel on its own scale")
    }
}
