/// A small, fast, seedable generator (xoshiro256**, seeded through SplitMix64), so that
/// one `--seed` reproduces a whole run: weight initialisation, shuffling and dropout.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
    private var s: (UInt64, UInt64, UInt64, UInt64)

    public init(seed: UInt64) {
        var z = seed
        func splitMix() -> UInt64 {
            z &+= 0x9E37_79B9_7F4A_7C15
            var x = z
            x = (x ^ (x >> 30)) &* 0xBF58_476D_1CE4_E5B9
            x = (x ^ (x >> 27)) &* 0x94D0_49BB_1331_11EB
            return x ^ (x >> 31)
        }
        s = (splitMix(), splitMix(), splitMix(), splitMix())
    }

    /// The four state words, to save a run's position in its random stream (checkpoints).
    public var state: [UInt64] { [s.0, s.1, s.2, s.3] }

    /// A generator continuing exactly where the one whose `state` this is left off.
    /// Nil for a state that is not four words or is all zero (xoshiro's one forbidden state).
    public init?(state: [UInt64]) {
        guard state.count == 4, state.contains(where: { $0 != 0 }) else { return nil }
        s = (state[0], state[1], state[2], state[3])
    }

    public mutating func next() -> UInt64 {
        let result = rotl(s.1 &* 5, 7) &* 9
        let t = s.1 << 17
        s.2 ^= s.0; s.3 ^= s.1; s.1 ^= s.2; s.0 ^= s.3
        s.2 ^= t
        s.3 = rotl(s.3, 45)
        return result
    }

    private func rotl(_ x: UInt64, _ k: UInt64) -> UInt64 { (x << k) | (x >> (64 - k)) }

    /// Uniform in [0, 1) with 24 random bits, like a Float32 draw.
    public mutating func nextUnit() -> Float {
        Float(next() >> 40) * (1.0 / Float(1 << 24))
    }

    /// Uniform in [low, high).
    public mutating func uniform(_ low: Float, _ high: Float) -> Float {
        low + (high - low) * nextUnit()
    }

    /// Standard normal (Box–Muller).
    public mutating func normal() -> Float {
        var u1 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        if u1 < 1e-300 { u1 = 1e-300 }
        let u2 = Double(next() >> 11) * (1.0 / 9_007_199_254_740_992.0)
        return Float((-2 * _log(u1)).squareRoot() * _cos(2 * Double.pi * u2))
    }

    /// A generator for a sub-task (shuffling, dropout, a test) derived from this one's seed
    /// stream, so adding draws in one place does not shift the others.
    public mutating func fork() -> SeededGenerator { SeededGenerator(seed: next()) }
}

@inline(__always) private func _log(_ x: Double) -> Double { Foundation.log(x) }
@inline(__always) private func _cos(_ x: Double) -> Double { Foundation.cos(x) }

import Foundation

/// The process-wide generator that lazily initialised layers draw their weights from,
/// like `torch.manual_seed`. Set it once with `Random.seed(_:)` before building a model.
/// Model building and training run on one thread; kernels that run in parallel never touch it.
public enum Random {
    nonisolated(unsafe) public static var generator = SeededGenerator(seed: 0)

    /// Reseeds the process-wide generator.
    public static func seed(_ seed: UInt64) { generator = SeededGenerator(seed: seed) }

    /// A tensor of uniform values in [low, high).
    public static func uniform(_ shape: [Int], _ low: Float, _ high: Float) -> Tensor {
        var values = [Float](repeating: 0, count: shape.elementCount)
        for i in values.indices { values[i] = generator.uniform(low, high) }
        return Tensor(shape: shape, data: values)
    }

    /// A tensor of standard normal values.
    public static func normal(_ shape: [Int]) -> Tensor {
        var values = [Float](repeating: 0, count: shape.elementCount)
        for i in values.indices { values[i] = generator.normal() }
        return Tensor(shape: shape, data: values)
    }
}
