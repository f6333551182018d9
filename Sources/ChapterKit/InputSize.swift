import ArgumentParser
import D2L

/// The smallest square input side a network accepts, found by trying sizes upwards on fresh
/// copies of it (each probe is one forward pass of a single image in evaluation mode; lazy
/// layers are materialised by the probe, hence the fresh copy each time).
public func minimumInputSide(of make: () -> Module, upTo limit: Int = 512) -> Int? {
    for side in 1...limit {
        let net = make()
        net.eval()
        if (try? GradMode.withoutGrad({ try net(Tensor.zeros([1, 1, side, side])) })) != nil { return side }
    }
    return nil
}

extension ChapterRun {
    /// Builds the network with `make` and summarises it at side×side. If the network cannot
    /// take that size, the run stops before any work with an argument error that names the
    /// smallest size it accepts and the layer that refused.
    /// With `batch`, a run that would not fit in memory is refused the same way (`checkMemory`).
    public func summarise(_ name: String, side: Int, batch: Int? = nil, make: () -> Sequential) throws -> (Sequential, LayerSummary) {
        let net = make()
        do {
            let summary = try net.layerSummary(inputShape: [1, 1, side, side])
            if let batch, mode != .summaryOnly { try checkMemory(summary, name: name, side: side, batch: batch) }
            return (net, summary)
        } catch let e as LayerError {
            let minimum = minimumInputSide(of: make).map { "the smallest it accepts is \($0)×\($0)" } ?? "no size up to 512 works"
            throw ValidationError("--resize \(side) is too small for \(name): \(minimum). At \(side)×\(side): \(e)")
        }
    }
}
