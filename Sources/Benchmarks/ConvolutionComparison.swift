import ArgumentParser
import D2L
import Foundation

/// `--conv C,H,K,r,pad[,groups]`: one stride-1 convolution of a batch, forward and backward,
/// timed through im2col and through the other algorithm alternately in the same process (this
/// machine's speed drifts by several per cent between runs, so separate runs cannot resolve a
/// 10% difference): Winograd without groups, the direct kernel (`DirectGroupedConvolution`)
/// with them. Prints the median milliseconds of each and their ratio.
struct ConvolutionComparison {
    let channels: Int, size: Int, outChannels: Int, kernel: Int, padding: Int, groups: Int
    let batch: Int, rounds: Int

    init(spec: String, batch: Int, rounds: Int) throws {
        let fields = spec.split(separator: ",", omittingEmptySubsequences: false)
        let v = fields.compactMap { Int($0) }
        guard v.count == fields.count, v.count == 5 || v.count == 6, v.allSatisfy({ $0 >= 0 }),
              v[0] > 0, v[1] > 0, v[2] > 0, v[3] > 0, v[1] + 2 * v[4] >= v[3] else {
            throw ValidationError("--conv takes C,H,K,r,pad[,groups] (channels, map size, output channels, kernel, padding, groups), e.g. 96,7,256,5,2 or 32,24,32,3,1,2; got '\(spec)'")
        }
        (channels, size, outChannels, kernel, padding) = (v[0], v[1], v[2], v[3], v[4])
        groups = v.count == 6 ? v[5] : 1
        guard groups >= 1, channels % groups == 0, outChannels % groups == 0 else {
            throw ValidationError("--conv: \(groups) groups must divide both \(channels) channels and \(outChannels) output channels")
        }
        self.batch = batch; self.rounds = rounds
    }

    /// The algorithm compared with im2col, and its switch.
    private var other: (name: String, set: (Bool) -> Void, chosen: Bool) {
        if groups > 1 {
            return ("direct", { DirectGroupedConvolution.enabled = $0 },
                    kernel == 3 && DirectGroupedConvolution.isChosen(channels: channels, size: size, outChannels: outChannels,
                                                                     padding: padding, groups: groups))
        }
        return ("winograd", { Winograd.enabled = $0 },
                Winograd.isChosen(channels: channels, size: size, outChannels: outChannels, kernel: kernel, padding: padding, batch: batch))
    }

    func run() {
        var g = SeededGenerator(seed: 3)
        func random(_ shape: [Int]) -> Tensor {
            let t = Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in g.uniform(-1, 1) })
            t.requiresGrad = true
            return t
        }
        let x = random([batch, channels, size, size]), w = random([outChannels, channels / groups, kernel, kernel])
        let b = random([outChannels])
        let config = Conv2dConfig(padding: (padding, padding), groups: groups)
        let other = self.other
        let seed = [Float](repeating: 1, count: batch * outChannels * (size + 2 * padding - kernel + 1) * (size + 2 * padding - kernel + 1))
        /// Milliseconds of the forward and of the backward pass.
        func once(_ otherAlgorithm: Bool) -> (Double, Double) {
            other.set(otherAlgorithm)
            x.zeroGrad(); w.zeroGrad(); b.zeroGrad()
            let t0 = ContinuousClock.now
            let y = conv2d(x, weight: w, bias: b, config)
            let t1 = ContinuousClock.now
            y.backward(seed: seed)
            return ((t1 - t0).seconds * 1000, (ContinuousClock.now - t1).seconds * 1000)
        }
        _ = once(false); _ = once(true)
        var lowered: [(Double, Double)] = [], alternative: [(Double, Double)] = []
        for _ in 0..<rounds { lowered.append(once(false)); alternative.append(once(true)) }
        other.set(true)
        func median(_ a: [Double]) -> Double { a.sorted()[a.count / 2] }
        func median(_ a: [(Double, Double)]) -> Double { median(a.map { $0.0 + $0.1 }) }
        func parts(_ a: [(Double, Double)]) -> String {
            String(format: "(forward %.2f, backward %.2f)", median(a.map(\.0)), median(a.map(\.1)))
        }
        print(String(format: "conv %d→%d, %dx%d kernel, %dx%d map (pad %d), %d group%@, batch %d, forward + backward, median of %d:",
                     channels, outChannels, kernel, kernel, size, size, padding, groups, groups == 1 ? "" : "s", batch, rounds))
        let name = other.name.padding(toLength: 8, withPad: " ", startingAt: 0)
        print(String(format: "  im2col   %8.2f ms %@\n  %@ %8.2f ms %@: %.2f× the im2col time; %@ for this shape",
                     median(lowered), parts(lowered), name, median(alternative), parts(alternative),
                     median(alternative) / median(lowered), other.chosen ? "chosen" : "not chosen"))
    }
}
