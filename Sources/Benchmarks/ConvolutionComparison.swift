import ArgumentParser
import D2L
import Foundation

/// `--conv C,H,K,r,pad`: one stride-1 convolution of a batch, forward and backward, timed
/// through im2col and through Winograd alternately in the same process (this machine's
/// speed drifts by several per cent between runs, so separate runs cannot resolve a 10%
/// difference). Prints the median milliseconds of each and their ratio.
struct ConvolutionComparison {
    let channels: Int, size: Int, outChannels: Int, kernel: Int, padding: Int
    let batch: Int, rounds: Int

    init(spec: String, batch: Int, rounds: Int) throws {
        let v = spec.split(separator: ",").compactMap { Int($0) }
        guard v.count == 5, v.allSatisfy({ $0 >= 0 }), v[0] > 0, v[1] > 0, v[2] > 0, v[3] > 0,
              v[1] + 2 * v[4] >= v[3] else {
            throw ValidationError("--conv takes C,H,K,r,pad (channels, map size, output channels, kernel, padding), e.g. 96,7,256,5,2; got '\(spec)'")
        }
        (channels, size, outChannels, kernel, padding) = (v[0], v[1], v[2], v[3], v[4])
        self.batch = batch; self.rounds = rounds
    }

    func run() {
        var g = SeededGenerator(seed: 3)
        func random(_ shape: [Int]) -> Tensor {
            let t = Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in g.uniform(-1, 1) })
            t.requiresGrad = true
            return t
        }
        let x = random([batch, channels, size, size]), w = random([outChannels, channels, kernel, kernel])
        let b = random([outChannels])
        let config = Conv2dConfig(padding: (padding, padding))
        let seed = [Float](repeating: 1, count: batch * outChannels * (size + 2 * padding - kernel + 1) * (size + 2 * padding - kernel + 1))
        /// Milliseconds of the forward and of the backward pass.
        func once(_ winograd: Bool) -> (Double, Double) {
            Winograd.enabled = winograd
            x.zeroGrad(); w.zeroGrad(); b.zeroGrad()
            let t0 = ContinuousClock.now
            let y = conv2d(x, weight: w, bias: b, config)
            let t1 = ContinuousClock.now
            y.backward(seed: seed)
            return ((t1 - t0).seconds * 1000, (ContinuousClock.now - t1).seconds * 1000)
        }
        _ = once(false); _ = once(true)
        var direct: [(Double, Double)] = [], winograd: [(Double, Double)] = []
        for _ in 0..<rounds { direct.append(once(false)); winograd.append(once(true)) }
        Winograd.enabled = true
        func median(_ a: [Double]) -> Double { a.sorted()[a.count / 2] }
        func median(_ a: [(Double, Double)]) -> Double { median(a.map { $0.0 + $0.1 }) }
        func parts(_ a: [(Double, Double)]) -> String {
            String(format: "(forward %.2f, backward %.2f)", median(a.map(\.0)), median(a.map(\.1)))
        }
        print(String(format: "conv %d→%d, %dx%d kernel, %dx%d map (pad %d), batch %d, forward + backward, median of %d:",
                     channels, outChannels, kernel, kernel, size, size, padding, batch, rounds))
        print(String(format: "  im2col   %8.2f ms %@\n  winograd %8.2f ms %@: %.2f× the im2col time; %@ for this shape",
                     median(direct), parts(direct), median(winograd), parts(winograd), median(winograd) / median(direct),
                     Winograd.isChosen(channels: channels, size: size, outChannels: outChannels, kernel: kernel,
                                       padding: padding, batch: batch) ? "chosen" : "not chosen"))
    }
}
