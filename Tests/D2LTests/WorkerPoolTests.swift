import Dispatch
import Foundation
import Synchronization
import Testing
@testable import D2L

/// The pool that runs parallel regions: every index once, whatever the count; a region inside
/// a region and regions started from two threads at once still complete; after its helpers
/// have gone to sleep, a region wakes them.
struct WorkerPoolTests {
    /// How often each index ran, over one region of `count`.
    private func counts(_ pool: WorkerPool, _ count: Int) -> [Int] {
        let seen = Mutex([Int](repeating: 0, count: count))
        pool.run(count) { i in seen.withLock { $0[i] += 1 } }
        return seen.withLock { $0 }
    }

    @Test(arguments: [1, 2, 3, 4])
    func everyIndexRunsOnce(threads: Int) {
        let pool = WorkerPool(threads: threads)
        defer { pool.stop() }
        for count in [0, 1, 2, 3, 5, 8, 17, 64] {
            #expect(counts(pool, count) == [Int](repeating: 1, count: count), "\(threads) threads, \(count) indices")
        }
    }

    @Test func indicesGoToTheSameThreadEveryTime() {
        let pool = WorkerPool(threads: 3)
        defer { pool.stop() }
        /// The thread (pthread id) that ran each of nine indices.
        func owners() -> [UInt] {
            let ids = Mutex([UInt](repeating: 0, count: 9))
            pool.run(9) { i in ids.withLock { $0[i] = UInt(pthread_self()) } }
            return ids.withLock { $0 }
        }
        let caller = UInt(pthread_self()), first = owners()
        // i = 0, 3, 6 on the calling thread; 1, 4, 7 on one helper; 2, 5, 8 on the other.
        #expect(first[0] == caller && first[3] == caller && first[6] == caller)
        #expect(first[1] != caller && first[4] == first[1] && first[7] == first[1])
        #expect(first[2] != caller && first[2] != first[1] && first[5] == first[2] && first[8] == first[2])
        for _ in 0..<20 { #expect(owners() == first) }
    }

    @Test func regionInsideARegionCompletes() {
        let pool = WorkerPool(threads: 2)
        defer { pool.stop() }
        let total = Mutex(0)
        pool.run(4) { _ in pool.run(3) { _ in total.withLock { $0 += 1 } } }
        #expect(total.withLock { $0 } == 12)
    }

    @Test func regionsFromTwoThreadsAtOnceComplete() {
        let pool = WorkerPool(threads: 2)
        defer { pool.stop() }
        let total = Mutex(0)
        DispatchQueue.concurrentPerform(iterations: 4) { _ in
            for _ in 0..<200 { pool.run(5) { _ in total.withLock { $0 += 1 } } }
        }
        #expect(total.withLock { $0 } == 4 * 200 * 5)
    }

    @Test func sleepingHelpersWakeUp() throws {
        let pool = WorkerPool(threads: 2)
        defer { pool.stop() }
        #expect(counts(pool, 4) == [1, 1, 1, 1])
        Thread.sleep(forTimeInterval: 0.2)   // far longer than the helpers spin before they sleep
        for _ in 0..<50 {
            #expect(counts(pool, 2) == [1, 1])
            Thread.sleep(forTimeInterval: 0.002)
        }
    }
}
