import D2L
import Foundation
import Testing

/// One training exercise per chapter, end to end on a tiny budget: the variants it promises,
/// trained with the same seeds and images, and its JSON, PNG and report.
@Suite(.serialized) struct ExerciseRunTests {
    static let tiny = ["--epochs", "1", "--train-limit", "256", "--test-limit", "100"]

    /// Runs exercise `n` of `chapter` and returns its JSON.
    func answer(_ chapter: String, _ n: String, _ extra: [String] = tiny, picture: Bool = true) throws -> [String: Any] {
        let out = ChapterRunner.temporaryFolder("\(chapter)-exercise-\(n)")
        let r = try ChapterRunner.run(chapter, ["--exercise", n, "--out-dir", out] + extra)
        #expect(r.status == 0, "\(r.all)")
        if picture { #expect(try readPNG(path: out + "/exercise-\(n).png").width > 300) }
        #expect(try String(contentsOfFile: out + "/report.html", encoding: .utf8).contains("exercise-\(n).json"))
        return try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/exercise-\(n).json"))) as! [String: Any]
    }
    func runs(_ json: [String: Any]) -> [[String: Any]] { json["runs"] as! [[String: Any]] }
    func values(_ runs: [[String: Any]], _ key: String) -> [Double] { runs.map { $0[key] as! Double } }

    @Test func leNetWithReLUAndDropout() throws {
        let r = runs(try answer("Chapter7_1_AlexNet", "7"))
        let names: [String] = r.map { $0["variant"] as! String }
        let expected: [String] = ["sigmoid (the book's)", "ReLU", "sigmoid + dropout", "ReLU + dropout", "ReLU at lr 0.9"].flatMap { [$0, $0] }
        #expect(names == expected)
        #expect(values(r, "seed") == [0, 1, 0, 1, 0, 1, 0, 1, 0, 1])
        let rates: [Float] = values(r, "lr").map { Float($0) }
        #expect(rates == [0.9, 0.9, 0.1, 0.1, 0.9, 0.9, 0.1, 0.1, 0.9, 0.9])
        #expect(Set(values(r, "parameters")) == [61_706] && Set(values(r, "resize")) == [28])
    }

    @Test func vggOnSmallerInputs() throws {
        let json = try answer("Chapter7_2_VGG", "4", ["--epochs", "1", "--train-limit", "64", "--test-limit", "64"])
        #expect(values(runs(json), "resize") == [56, 84, 56])
        #expect(runs(json).allSatisfy { ($0["images_per_second"] as! Double) > 0 })
    }

    @Test func ninDenseHead() throws {
        let r = runs(try answer("Chapter7_3_NiN", "3", ["--epochs", "1", "--train-limit", "64", "--test-limit", "64"]))
        // The dense head reads the last block's 10×1×1 map at 67×67: 10·10 + 10 parameters.
        #expect(values(r, "parameters") == [1_992_166, 1_992_276])
    }

    @Test func googLeNetWithBatchNormAndLabelSmoothing() throws {
        let json = try answer("Chapter7_4_GoogLeNet", "1", ["--epochs", "1", "--train-limit", "128", "--test-limit", "64"])
        let p = values(runs(json), "parameters")
        #expect(p[0] == 5_977_530 && p[2] == p[0] && p[1] > p[0])
        #expect(Swift.abs((json["label_smoothing"] as? Double ?? 0) - 0.1) < 1e-6)
    }

    @Test func batchNormWithFixedScaleAndShift() throws {
        let json = try answer("Chapter7_5_BatchNorm", "5")
        // γ and β of the four batch norms (6, 16, 120 and 84 features) stay at exactly 1 and 0.
        #expect(json["fixed_parameters"] as? Double == Double(2 * (6 + 16 + 120 + 84)))
        #expect(json["fixed_values_after_training"] as? [Double] == [0, 1])
        #expect(runs(json).count == 4)
    }

    @Test func preActivationResNet() throws {
        let r = runs(try answer("Chapter7_6_ResNet", "4", ["--epochs", "1", "--train-limit", "128", "--test-limit", "64"]))
        #expect(r.map { $0["variant"] as! String } == ["ResNet-18", "pre-activation ResNet-18"])
        let preActivation: Double = 11_178_378 - 2 * (64 + 128 + 256) + 2 * 512
        #expect(values(r, "parameters") == [11_178_378, preActivation])
    }

    @Test func denseNetMemory() throws {
        let json = try answer("Chapter7_7_DenseNet", "3", ["--batch-size", "2"], picture: false)
        let steps = json["steps"] as! [String: [String: Any]]
        func saved(_ step: String) -> Double { steps[step]!["saved_for_backward_bytes"] as! Double }
        #expect(saved("DenseNet, training, recomputing") < saved("DenseNet, training, keeping everything"))
        #expect(saved("DenseNet, prediction") == 0 && json["batch"] as? Double == 2)
    }

    @Test func vioNet() throws {
        let json = try answer("Chapter7_8_RegNet", "3", ["--train-limit", "64", "--test-limit", "64"])
        let networks = json["networks"] as! [[String: Any]]
        #expect(networks.count == 30 && json["steps"] as? Double == 1)
        #expect(Set(networks.map { $0["space"] as! String }) == ["AnyNetX_E", "VioNet-b", "VioNet-g", "VioNet-w", "VioNet-d"])
        #expect(networks.allSatisfy { (2.5e6...5e6).contains($0["macs"] as! Double) })
    }
}
