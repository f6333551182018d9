import Foundation

/// A rough, deliberately generous estimate of the memory a training run needs, so that a
/// `--batch-size` or `--resize` the machine cannot hold is refused before training instead of
/// the program being killed by the system in the middle of it.
///
///   bytes ≈ batch · activations · 4 B · 3   (outputs kept for backward, their gradients, temporaries)
///         + parameters · 4 B · 3            (weights, gradients, the update)
///         + 300 MB                          (the data set, the runtime, im2col workspaces of small layers)
///
/// `activations` counts the outputs of every module call for one image (`LayerSummary.activations`).
public enum MemoryEstimate {
    public static let baseline = 300 << 20

    public static func trainingBytes(_ summary: LayerSummary, batch: Int) -> Int {
        batch * bytesPerImage(summary) + fixedBytes(summary)
    }

    /// What each image of a batch adds: its activations, 4 B each, three times.
    public static func bytesPerImage(_ summary: LayerSummary) -> Int {
        summary.activations / Swift.max(summary.inputShape.first ?? 1, 1) * 4 * 3
    }

    /// What does not grow with the batch: parameters (4 B, three times) and the baseline.
    public static func fixedBytes(_ summary: LayerSummary) -> Int { summary.totalParameters * 4 * 3 + baseline }

    /// The memory this process may use: physical memory, or the cgroup's limit if lower.
    public static var availableBytes: Int {
        var limit = Int(clamping: ProcessInfo.processInfo.physicalMemory)
        if let text = try? String(contentsOfFile: "/sys/fs/cgroup/memory.max", encoding: .utf8),
           let cgroup = Int(text.trimmingCharacters(in: .whitespacesAndNewlines)) {
            limit = Swift.min(limit, cgroup)
        }
        return limit
    }

    /// "2.4 GiB"
    public static func describe(_ bytes: Int) -> String { String(format: "%.1f GiB", Double(bytes) / Double(1 << 30)) }
}
