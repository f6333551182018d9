import CSystem
import Dispatch

/// How the kernels use the two (or more) cores.
///
/// Our kernels split the batch into one contiguous range per worker and run the workers
/// with `DispatchQueue.concurrentPerform`; each worker calls single-threaded OpenBLAS.
/// OpenBLAS's own threads are therefore set to 1 (`configure(threads:)`), so the two kinds
/// of threads never compete for the same cores. Results are deterministic for a fixed
/// thread count: every worker's range and every reduction order depend only on it.
///
/// The main thread and every worker flush subnormal floats to zero (`d2l_flush_denormals`,
/// PyTorch's `torch.set_flush_denormal(True)`). Late in training some activations and
/// gradients drift below 2⁻¹²⁶, and x86 handles those in slow microcode: a DenseNet run slowed
/// from 272 to 176 img/s by its third epoch before this, and stays at 253–286 with it.
public enum Parallel {
    nonisolated(unsafe) public private(set) static var threads = 1

    /// Sets the number of workers and pins OpenBLAS to one thread per call.
    public static func configure(threads: Int) {
        precondition(threads >= 1)
        self.threads = threads
        BLASInfo.setThreads(1)
        keepFreedMemory()
        d2l_flush_denormals()
    }

    /// Every op allocates its output, and activations of a few MB are freed and allocated
    /// again at every step. By default glibc hands such blocks back to the kernel (mmap, heap
    /// trimming), so every step pays page faults and page zeroing in the kernel. Keeping freed
    /// memory in the process, as PyTorch's caching allocator does, removes that cost.
    /// Blocks of up to 1 GiB come from the heap: VGG's 411 MB first-block activations, when
    /// mapped afresh (as with a 256 MiB threshold), added their pages on top of the heap's
    /// freed space instead of reusing it (peak 1.44 → 1.23 GiB, training 23 → 28 img/s).
    private static func keepFreedMemory() {
        _ = mallopt(M_MMAP_THRESHOLD, 1 << 30)
        _ = mallopt(M_TRIM_THRESHOLD, 1 << 30)
    }

    /// Runs `body(worker)` for worker = 0..<count concurrently (inline when count == 1).
    public static func run(_ count: Int, _ body: (Int) -> Void) {
        if count <= 1 { body(0); return }
        withoutActuallyEscaping(body) { body in
            let box = UncheckedSendable(body)
            // Every worker flushes denormals (a per-thread CPU flag; see `flushDenormals`).
            DispatchQueue.concurrentPerform(iterations: count) { d2l_flush_denormals(); box.value($0) }
        }
    }

    /// Splits 0..<total into at most `parts` contiguous, nearly equal, non-empty ranges.
    public static func ranges(_ total: Int, parts: Int) -> [Range<Int>] {
        let p = Swift.max(1, Swift.min(parts, total))
        return (0..<p).map { i in (total * i / p)..<(total * (i + 1) / p) }
    }

    /// Runs `body(range)` over 0..<total split across the workers; for element-wise loops.
    /// Small jobs (`total < minPerWorker · 2`) run inline.
    public static func forRanges(_ total: Int, minPerWorker: Int = 32_768, _ body: (Range<Int>) -> Void) {
        let parts = Swift.min(threads, total / Swift.max(minPerWorker, 1))
        if parts <= 1 { body(0..<total); return }
        let rs = ranges(total, parts: parts)
        run(rs.count) { body(rs[$0]) }
    }
}

/// Lets a closure or pointer cross into `concurrentPerform`; safe here because each worker
/// touches only its own slice of the memory involved.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// Scratch memory reused across calls (darknet's shared workspace): one set of buffers per
/// worker, grown on demand on the calling thread before a parallel region, never freed.
public enum Workspace {
    nonisolated(unsafe) private static var slots: [[(UnsafeMutablePointer<Float>, Int)]] = []

    /// Per worker, one buffer of each requested size (contents undefined).
    static func buffers(workers: Int, sizes: [Int]) -> [[UnsafeMutablePointer<Float>]] {
        while slots.count < workers { slots.append([]) }
        for w in 0..<workers {
            while slots[w].count < sizes.count {
                slots[w].append((UnsafeMutablePointer<Float>.allocate(capacity: 1), 1))
            }
            for (i, size) in sizes.enumerated() where slots[w][i].1 < size {
                slots[w][i].0.deallocate()
                slots[w][i] = (UnsafeMutablePointer<Float>.allocate(capacity: size), size)
            }
        }
        return (0..<workers).map { w in (0..<sizes.count).map { slots[w][$0].0 } }
    }

    /// One buffer of `count` floats per worker (for the benchmark's sgemm ceiling).
    public static func buffersForBenchmark(workers: Int, count: Int) -> [UnsafeMutablePointer<Float>] {
        (0..<workers).map { _ in UnsafeMutablePointer<Float>.allocate(capacity: count) }
    }
}
