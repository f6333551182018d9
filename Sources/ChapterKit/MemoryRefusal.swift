import ArgumentParser
import D2L

extension ChapterRun {
    /// Refuses, with the estimate and a batch size that fits, a run that would need more than
    /// 85% of the machine's memory.
    public func checkMemory(_ summary: LayerSummary, name: String, side: Int, batch: Int,
                            available: Int = MemoryEstimate.availableBytes) throws {
        let need = MemoryEstimate.trainingBytes(summary, batch: batch)
        let budget = available / 100 * 85
        guard need > budget else { return }
        let fits = (budget - MemoryEstimate.fixedBytes(summary)) / Swift.max(MemoryEstimate.bytesPerImage(summary), 1)
        throw ValidationError("""
        training \(name) at \(side)×\(side) with --batch-size \(batch) needs about \(MemoryEstimate.describe(need)) \
        (estimated from the network's activations), more than the \(MemoryEstimate.describe(available)) this machine \
        has. \(fits >= 1 ? "A batch size of at most \(fits) fits at this size." : "Use a smaller --resize.")
        """)
    }
}
