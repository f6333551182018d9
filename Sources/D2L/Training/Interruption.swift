import Foundation

/// Ctrl-C (SIGINT) and SIGTERM during training: the first one asks the training loop to stop
/// after the current batch, so metrics and curves of what was done can be written; a second
/// one ends the process at once.
public enum Interruption {
    /// The signal received (0: none). Written by the signal handler, read between batches.
    nonisolated(unsafe) public internal(set) static var signal: Int32 = 0

    /// Installs the handlers (once, at start-up, on the main thread). The signals are also
    /// unblocked: a parent that launched us from a thread blocking them (a test runner's worker
    /// thread, some supervisors) would otherwise leave them blocked and the handler silent.
    public static func install() {
        var set = sigset_t()
        sigemptyset(&set)
        sigaddset(&set, SIGINT)
        sigaddset(&set, SIGTERM)
        pthread_sigmask(SIG_UNBLOCK, &set, nil)
        // Past a file-size limit (ulimit -f) a write fails with EFBIG and the run reports it,
        // instead of the process being killed by SIGXFSZ halfway through a file.
        Foundation.signal(SIGXFSZ, SIG_IGN)
        for sig in [SIGINT, SIGTERM] {
            Foundation.signal(sig) { received in
                if Interruption.signal != 0 { _exit(128 + received) }   // second signal: stop now
                Interruption.signal = received
                let note = "\n(stopping after the current batch; press Ctrl-C again to quit at once)\n"
                _ = note.withCString { write(STDERR_FILENO, $0, strlen($0)) }
            }
        }
    }
}

/// Training stopped on request (Ctrl-C or SIGTERM).
public struct InterruptedError: Error, CustomStringConvertible {
    public let signal: Int32
    public let epoch: Int
    public let batch: Int
    /// The conventional exit status: 130 for SIGINT, 143 for SIGTERM.
    public var exitCode: Int32 { 128 + signal }
    public var description: String {
        "interrupted (\(signal == SIGINT ? "Ctrl-C" : "SIGTERM")) in epoch \(epoch) after batch \(batch)"
    }
}
