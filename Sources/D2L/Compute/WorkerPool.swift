import CSystem
import Dispatch
import Foundation
import Synchronization

/// Threads that stay alive between parallel regions, so that starting one costs a store and,
/// at most, a wake-up, instead of handing work to a dispatch queue whose threads have gone to
/// sleep: a training step of a small network (BN-LeNet) starts some hundred regions, each
/// well under a millisecond long.
///
/// `run(count, body)` runs body(0..<count), the calling thread taking i = 0, T, 2T, … and
/// helper w taking i = w, w + T, … (T = helpers + 1), and returns when all are done. Which
/// thread runs an index depends only on T, so results are as deterministic as before.
///
/// Each region has a generation number. A helper spins (with the CPU's pause hint) for a new
/// generation for a short while after its last region, then sleeps on its semaphore; the
/// caller wakes the sleepers it finds when it starts a region (`sleeping` flags, set and
/// cleared with sequentially consistent exchanges so that no wake-up is lost). One region
/// runs at a time: a region started while another runs (from a second thread, or from inside
/// a region) runs through `DispatchQueue.concurrentPerform` instead.
final class WorkerPool: @unchecked Sendable {
    private final class Helper: @unchecked Sendable {
        /// The last generation this helper finished.
        let finished = Atomic<Int>(0)
        /// 1 while the helper sleeps (or is about to) on `wake`.
        let sleeping = Atomic<Int>(0)
        let wake = DispatchSemaphore(value: 0)
    }

    private let helpers: [Helper]
    private let generation = Atomic<Int>(0)
    private let busy = Atomic<Bool>(false)
    private let stopping = Atomic<Bool>(false)
    /// The region being run: read by helpers only between seeing its generation and
    /// reporting it finished, written by the caller only outside that window.
    private var job: ((Int) -> Void)?
    private var jobCount = 0
    /// Pause hints a helper spins for before it sleeps (some tens of microseconds).
    private let spinLimit = 20_000

    /// A pool of `threads − 1` helper threads besides the caller.
    init(threads: Int) {
        helpers = (1..<Swift.max(threads, 1)).map { _ in Helper() }
        for (w, helper) in helpers.enumerated() {
            let thread = Thread { self.serve(helper, index: w + 1) }
            thread.name = "d2l-worker-\(w + 1)"
            thread.start()
        }
    }

    /// Threads that run a region: the helpers and the caller.
    var threads: Int { helpers.count + 1 }

    func run(_ count: Int, _ body: (Int) -> Void) {
        guard count > 1, !helpers.isEmpty else { for i in 0..<count { body(i) }; return }
        guard busy.compareExchange(expected: false, desired: true, ordering: .acquiring).exchanged else {
            return withoutActuallyEscaping(body) { body in
                let box = UncheckedSendable(body)
                DispatchQueue.concurrentPerform(iterations: count) { d2l_flush_denormals(); box.value($0) }
            }
        }
        defer { busy.store(false, ordering: .releasing) }
        withoutActuallyEscaping(body) { body in
            job = body
            jobCount = count
            let g = generation.add(1, ordering: .sequentiallyConsistent).newValue
            for helper in helpers where helper.sleeping.exchange(0, ordering: .sequentiallyConsistent) == 1 {
                helper.wake.signal()
            }
            var i = 0
            while i < count { body(i); i += threads }
            for helper in helpers {
                while helper.finished.load(ordering: .acquiring) != g { d2l_cpu_relax() }
            }
            job = nil
        }
    }

    /// Ends the helper threads once they finish what they run (the pool is then freed when
    /// its last user lets go). The pools `Parallel` uses live as long as the process.
    func stop() {
        stopping.store(true, ordering: .sequentiallyConsistent)
        generation.add(1, ordering: .sequentiallyConsistent)
        for helper in helpers where helper.sleeping.exchange(0, ordering: .sequentiallyConsistent) == 1 {
            helper.wake.signal()
        }
    }

    /// A helper's life: wait for a generation, run its share of that region, report it.
    private func serve(_ helper: Helper, index w: Int) {
        d2l_flush_denormals()
        var seen = 0
        while true {
            var spins = 0
            var g = generation.load(ordering: .acquiring)
            while g == seen {
                if spins < spinLimit {
                    d2l_cpu_relax()
                    spins += 1
                } else {
                    helper.sleeping.store(1, ordering: .sequentiallyConsistent)
                    if generation.load(ordering: .sequentiallyConsistent) == seen {
                        helper.wake.wait()
                    } else if helper.sleeping.exchange(0, ordering: .sequentiallyConsistent) == 0 {
                        helper.wake.wait()   // the caller saw the flag and signalled: take that signal
                    }
                    spins = 0
                }
                g = generation.load(ordering: .acquiring)
            }
            seen = g
            if stopping.load(ordering: .sequentiallyConsistent) { return }
            runShare(of: w)
            helper.finished.store(g, ordering: .releasing)
        }
    }

    /// Indices w, w + T, … of the current region. Kept out of line so the region's closure is
    /// released before its helper reports it finished.
    @inline(never)
    private func runShare(of w: Int) {
        let count = jobCount, stride = threads
        guard let body = job else { return }
        var i = w
        while i < count { body(i); i += stride }
    }
}
