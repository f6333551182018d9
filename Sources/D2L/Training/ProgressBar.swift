import Foundation

/// A Keras-style progress line for one epoch, redrawn in place at most ~10 times a second
/// when standard output is a terminal (throttled: redrawing every batch costs time):
/// `epoch 3/10  117/235 [=======>......] loss 0.512 acc 0.812 | 21,340 img/s | ETA 0:04`.
/// When output goes to a file or pipe nothing is drawn; the per-epoch summary still prints.
public struct ProgressBar {
    public let isInteractive: Bool
    /// Printed before each line (e.g. which network is training).
    public var label = ""
    private var lastDraw = ContinuousClock.now
    private let interval = Duration.milliseconds(100)
    private let width = 24

    /// Whether standard output was a terminal when first asked (a run that later sends its
    /// output through a pipe, to keep a transcript, asks before it does).
    public static let stdoutIsTerminal = isatty(STDOUT_FILENO) != 0

    public init(interactive: Bool = stdoutIsTerminal) { isInteractive = interactive }

    /// Redraws if at least 100 ms passed since the last redraw.
    /// - Parameter secondsPerBatch: mean time of a training step so far, for the ETA.
    public mutating func update(epoch: Int, epochs: Int, batch: Int, batches: Int, loss: Double,
                                acc: Double, imagesPerSec: Double, secondsPerBatch: Double) {
        guard isInteractive else { return }
        let now = ContinuousClock.now
        guard now - lastDraw >= interval else { return }
        lastDraw = now
        let filled = batches > 0 ? width * batch / batches : 0
        let bar = String(repeating: "=", count: filled)
            + (filled < width ? ">" + String(repeating: ".", count: width - filled - 1) : "")
        let eta = Double(batches - batch) * secondsPerBatch
        let line = String(format: "epoch %d/%d %5d/%d [%@] loss %.3f acc %.3f | %@ img/s | ETA %@",
                          epoch, epochs, batch, batches, bar, loss, acc,
                          groupDigits(Int(imagesPerSec)), formatDuration(eta))
        print("\r\u{1B}[2K" + (label.isEmpty ? "" : label + " ") + line, terminator: "")
        fflush(nil)
    }

    /// Erases the progress line (before the epoch summary is printed).
    public func clear() {
        guard isInteractive else { return }
        print("\r\u{1B}[2K", terminator: "")
        fflush(nil)
    }
}
