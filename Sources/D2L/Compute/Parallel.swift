import CSystem
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// How the kernels use the two (or more) cores.
///
/// Our kernels split the batch into one contiguous range per worker and run the workers on a
/// pool of threads that outlive each region (`WorkerPool`); each worker calls single-threaded
/// OpenBLAS.
/// OpenBLAS's own threads are therefore set to 1 (`configure(threads:)`), so the two kinds
/// of threads never compete for the same cores. Results are deterministic for a fixed
/// thread count: every worker's range and every reduction order depend only on it.
///
/// The main thread and every worker flush subnormal floats to zero (`d2l_flush_denormals`,
/// PyTorch's `torch.set_flush_denormal(True)`). Late in training some activations and
/// gradients drift below 2⁻¹²⁶, and x86 handles those in slow microcode, which would slow a
/// long run down epoch by epoch.
public enum Parallel {
    nonisolated(unsafe) public private(set) static var threads = 1

    /// Sets the number of workers and pins OpenBLAS to one thread per call.
    public static func configure(threads: Int) {
        precondition(threads >= 1)
        self.threads = threads
        pools.withLock { pools in
            if let existing = pools.byThreads[threads] { pools.current = existing } else {
                pools.current = WorkerPool(threads: threads)
                pools.byThreads[threads] = pools.current
            }
        }
        BLASInfo.setThreads(1)
        keepFreedMemory()
        d2l_flush_denormals()
    }

    /// Every op allocates its output, and activations of a few MB are freed and allocated
    /// again at every step. By default glibc hands such blocks back to the kernel (mmap, heap
    /// trimming), so every step pays page faults and page zeroing in the kernel. Keeping freed
    /// memory in the process, as PyTorch's caching allocator does, removes that cost.
    /// Blocks of up to 1 GiB come from the heap: activations of a few hundred MB (VGG's second
    /// block, 205 MB at batch 128), when mapped afresh, add their pages on top of the heap's
    /// freed space instead of reusing it, which costs both peak memory and speed.
    private static func keepFreedMemory() {
        _ = mallopt(M_MMAP_THRESHOLD, 1 << 30)
        _ = mallopt(M_TRIM_THRESHOLD, 1 << 30)
    }

    /// The threads that run parallel regions, one pool per thread count asked for (tests switch
    /// between counts); a pool's threads live as long as the process.
    /// Behind a lock, since runs in one process (tests) may configure from several threads.
    private static let pools = Mutex<(current: WorkerPool, byThreads: [Int: WorkerPool])>((WorkerPool(threads: 1), [:]))

    /// Runs `body(worker)` for worker = 0..<count concurrently on the pool's threads (inline
    /// when count == 1). Every pool thread flushes denormals (a per-thread CPU flag).
    public static func run(_ count: Int, _ body: (Int) -> Void) {
        if count <= 1 { body(0); return }
        pools.withLock { $0.current }.run(count, body)
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

/// Lets a closure or pointer cross into a parallel region; safe here because each worker
/// touches only its own slice of the memory involved.
struct UncheckedSendable<T>: @unchecked Sendable {
    let value: T
    init(_ value: T) { self.value = value }
}

/// Scratch memory reused across calls (darknet's shared workspace): one arena per worker,
/// grown on demand on the calling thread before a parallel region, never freed. Each call
/// carves its buffers out of the arena afresh, so the arena is as large as the largest call
/// needs, not the sum of the largest first buffer, the largest second buffer and so on.
/// A call's buffers are valid until the next call. Arenas are mapped from the kernel, outside
/// malloc's heap: each time one grows it would otherwise leave a hole among the activations,
/// and the peak memory would depend on where the holes fell.
public enum Workspace {
    nonisolated(unsafe) private static var arenas: [(base: UnsafeMutablePointer<Float>, count: Int)] = []

    private static func map(_ count: Int) -> UnsafeMutablePointer<Float> {
        let bytes = count * MemoryLayout<Float>.stride
        guard let raw = mmap(nil, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0), raw != MAP_FAILED else {
            fatalError("out of memory: could not map \(bytes) bytes of convolution workspace")
        }
        return raw.bindMemory(to: Float.self, capacity: count)
    }

    /// Buffers start on 64-byte boundaries (16 floats), as separate allocations would.
    private static func padded(_ count: Int) -> Int { (count + 15) / 16 * 16 }

    /// Per worker, one buffer of each requested size (contents undefined), not overlapping.
    static func buffers(workers: Int, sizes: [Int]) -> [[UnsafeMutablePointer<Float>]] {
        let total = Swift.max(1, sizes.reduce(0) { $0 + padded($1) })
        while arenas.count < workers { arenas.append((map(16), 16)) }
        for w in 0..<workers where arenas[w].count < total {
            munmap(arenas[w].base, arenas[w].count * MemoryLayout<Float>.stride)
            arenas[w] = (map(total), total)
        }
        return (0..<workers).map { w in
            var offset = 0
            return sizes.map { size in
                defer { offset += padded(size) }
                return arenas[w].base + offset
            }
        }
    }

    /// One buffer of `count` floats per worker (for the benchmark's sgemm ceiling).
    public static func buffersForBenchmark(workers: Int, count: Int) -> [UnsafeMutablePointer<Float>] {
        (0..<workers).map { _ in UnsafeMutablePointer<Float>.allocate(capacity: count) }
    }
}
