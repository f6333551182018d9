import D2L
import Foundation
import Models

/// Compares the book's from-scratch batch norm (tensor ops + autograd) with the core's fused
/// `BatchNorm` inside BN-LeNet, value by value, on one batch with identical weights.
///
/// Measured: outputs in training mode; ∂loss/∂input, ∂loss/∂γ, ∂loss/∂β; the running mean and
/// variance after `steps` SGD steps; outputs in evaluation mode with identical statistics.
/// The running variances differ by design: PyTorch (and the fused layer) store the unbiased
/// batch variance σ²·m/(m−1), the book's scratch code the biased σ². Starting both from 1,
/// after k steps  fused − 0.9ᵏ = m/(m−1)·(scratch − 0.9ᵏ), which is checked too.
public struct BatchNormComparison {
    public var trainOutput: Float = 0
    public var inputGrad: Float = 0
    public var gammaGrad: Float = 0
    public var betaGrad: Float = 0
    public var runningMean: Float = 0
    public var runningVarRaw: Float = 0
    public var runningVarCorrected: Float = 0
    public var evalOutput: Float = 0
    public var steps = 3

    /// The differences that must be tiny (everything but the raw running variance).
    public var maxOfComparable: Float {
        [trainOutput, inputGrad, gammaGrad, betaGrad, runningMean, runningVarCorrected, evalOutput].max()!
    }

    public static func run(images: Tensor, labels: [Int32], lr: Float, seed: UInt64, steps: Int = 3) throws -> BatchNormComparison {
        Random.seed(seed)
        let scratch = bnLeNetScratch()
        scratch.initialize(.xavierUniform)
        Random.seed(seed)
        let fused = bnLeNet()
        fused.initialize(.xavierUniform)
        // Materialise the lazy layers, then give both nets the same weights.
        let probe = Tensor(shape: [2] + Array(images.shape.dropFirst()), data: Array(images.data.prefix(2 * images.count / images.shape[0])))
        for net in [scratch, fused] { net.eval(); _ = try GradMode.withoutGrad { try net(probe) }; net.train() }
        for (s, f) in zip(scratch.parameters, fused.parameters) {
            precondition(s.count == f.count, "parameter layouts differ")
            f.data = s.data
        }
        let scratchBN = scratch.layers.compactMap { $0 as? ScratchBatchNorm }
        let fusedBN = fused.layers.compactMap { $0 as? BatchNorm }

        var result = BatchNormComparison()
        result.steps = steps
        let sgdS = SGD(scratch.parameters, learningRate: lr), sgdF = SGD(fused.parameters, learningRate: lr)
        for step in 1...steps {
            sgdS.zeroGrad(); sgdF.zeroGrad()
            let xs = images.detached(), xf = images.detached()
            xs.requiresGrad = true; xf.requiresGrad = true
            let ys = try scratch(xs), yf = try fused(xf)
            let ls = crossEntropy(ys, labels: labels), lf = crossEntropy(yf, labels: labels)
            ls.backward(); lf.backward()
            if step == 1 {
                result.trainOutput = maxAbsDiff(ys.data, yf.data)
                result.inputGrad = maxAbsDiff(xs.grad!, xf.grad!)
                result.gammaGrad = zip(scratchBN, fusedBN).map { maxAbsDiff($0.gamma.grad!, $1.gamma!.grad!) }.max()!
                result.betaGrad = zip(scratchBN, fusedBN).map { maxAbsDiff($0.beta.grad!, $1.beta!.grad!) }.max()!
            }
            sgdS.step(); sgdF.step()
        }

        // Running statistics after `steps` updates.
        let decay = Float(Foundation.pow(0.9, Double(steps)))
        for (s, f) in zip(scratchBN, fusedBN) {
            result.runningMean = Swift.max(result.runningMean, maxAbsDiff(s.movingMean.data, f.runningMean!.data))
            result.runningVarRaw = Swift.max(result.runningVarRaw, maxAbsDiff(s.movingVar.data, f.runningVar!.data))
            let m = Float(f.lastBatchValuesPerChannel)
            let corrected = s.movingVar.data.map { decay + m / (m - 1) * ($0 - decay) }
            result.runningVarCorrected = Swift.max(result.runningVarCorrected, maxAbsDiff(corrected, f.runningVar!.data))
        }

        // Prediction mode with identical parameters and statistics.
        for (s, f) in zip(scratch.parameters, fused.parameters) { f.data = s.data }
        for (s, f) in zip(scratchBN, fusedBN) {
            f.runningMean!.data = s.movingMean.data
            f.runningVar!.data = s.movingVar.data
        }
        scratch.eval(); fused.eval()
        let (es, ef) = try GradMode.withoutGrad { (try scratch(images), try fused(images)) }
        result.evalOutput = maxAbsDiff(es.data, ef.data)
        return result
    }

    /// The report the chapter prints.
    public var lines: [String] {
        func row(_ label: String, _ v: Float, _ note: String = "") -> String {
            label.padding(toLength: 44, withPad: " ", startingAt: 0) + String(format: "max |Δ| = %.2e", v) + note
        }
        return [
            row("output in training mode (logits)", trainOutput),
            row("∂loss/∂input", inputGrad),
            row("∂loss/∂γ (all four BN layers)", gammaGrad),
            row("∂loss/∂β (all four BN layers)", betaGrad),
            row("running mean after \(steps) steps", runningMean),
            row("running variance after \(steps) steps", runningVarRaw, "  (expected: fused stores m/(m−1)·σ²)"),
            row("  the same with the m/(m−1) factor undone", runningVarCorrected),
            row("output in prediction mode, same statistics", evalOutput),
            maxOfComparable <= 1e-5
                ? String(format: "All comparable quantities agree to within %.1e (≤ 1e-5).", maxOfComparable)
                : String(format: "WARNING: a difference of %.2e exceeds 1e-5.", maxOfComparable),
        ]
    }

    public var json: [String: JSONValue] {
        ["train_output": .number(Double(trainOutput)), "input_grad": .number(Double(inputGrad)),
         "gamma_grad": .number(Double(gammaGrad)), "beta_grad": .number(Double(betaGrad)),
         "running_mean": .number(Double(runningMean)), "running_var_raw": .number(Double(runningVarRaw)),
         "running_var_unbiased_corrected": .number(Double(runningVarCorrected)),
         "eval_output": .number(Double(evalOutput)), "steps": .number(Double(steps)),
         "max_comparable": .number(Double(maxOfComparable))]
    }
}
