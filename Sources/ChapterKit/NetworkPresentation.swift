import D2L

/// The part of a chapter that shows its network: the layer printout on the book's sample
/// input, the printout at the training size when that differs, the parameter/FLOP table and a
/// totals line, with parameters and FLOPs recorded in metrics.json.
extension ChapterRun {
    /// - Parameters:
    ///   - name: the network's name in messages ("ResNet-18").
    ///   - bookSide: the side of the book's sample input (224, or 96 for GoogLeNet and RegNet).
    ///   - note: printed after the parameter count, e.g. " (AlexNet has 46,764,746)".
    ///   - afterBookPrintout: lines to print right after the book's printout.
    /// - Returns: the network to train (checked against the training size and the machine's
    ///   memory, see `summarise`) and the summaries at the book's and the training size.
    public func presentNetwork(_ name: String, bookSide: Int, note: String = "",
                               afterBookPrintout: (LayerSummary) -> String? = { _ in nil },
                               make: () -> Sequential) throws -> (net: Sequential, book: LayerSummary, trained: LayerSummary) {
        Random.seed(seed)
        let book = try make().layerSummary(inputShape: [1, 1, bookSide, bookSide])
        print(book.printout)
        if let extra = afterBookPrintout(book) { print(extra) }
        let side = config.resize
        Random.seed(seed)
        let (net, summary) = try summarise(name, side: side, batch: config.batchSize, make: make)
        if side != bookSide {
            print("\nAt \(side)×\(side), the size this run trains on:")
            print(summary.printout)
        }
        print()
        print(summary.table)
        print("\n\(groupDigits(summary.totalParameters)) parameters\(note), \(formatFlops(summary.totalFlops))FLOPs per \(side)×\(side) image.")
        metrics.results["parameters"] = .number(Double(summary.totalParameters))
        metrics.results["forward_flops_per_image"] = .number(Double(summary.totalFlops))
        return (net, book, summary)
    }
}
