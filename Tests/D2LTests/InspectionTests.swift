import Foundation
import Testing
@testable import D2L

/// What the pictures of a trained network are computed from: predictions, the confusion matrix,
/// the most confident mistakes, gradient saliency, Grad-CAM and dead channels.
extension CoreTests {
    @Suite struct InspectionTests {
        @Test func confusionMatrixOfHandMadePredictions() {
            let p = Predictions(labels: [0, 0, 0, 1, 1, 2, 2, 2, 2], predicted: [0, 1, 0, 1, 1, 0, 0, 2, 1],
                                confidence: Array(repeating: 0.5, count: 9))
            let m = ConfusionMatrix(p, classes: 3)
            #expect(m.counts == [[2, 1, 0], [0, 2, 0], [2, 1, 1]])
            #expect(m.perClassAccuracy == [2.0 / 3, 1, 0.25])
            #expect(m.accuracy == 5.0 / 9 && p.accuracy == 5.0 / 9)
            #expect(m.worstConfusion! == (truth: 2, predicted: 0, count: 2))
            #expect(m.rate(2, 0) == 0.5 && ConfusionMatrix(classes: 2).rate(0, 0) == 0)
            #expect(m.json == .object(["counts": .array([[2, 1, 0], [0, 2, 0], [2, 1, 1]].map { .array($0.map { .number(Double($0)) }) }),
                                       "per_class_accuracy": .array([2.0 / 3, 1, 0.25].map { .number($0) })]))
        }

        /// The arg-max and its softmax probability, from logits.
        @Test func predictionsFromLogits() {
            let logits = Tensor(shape: [3, 3], data: [0, 0, 0, 1, 3, 2, 5, 5, -1])
            let p = Predictions(logits: logits, labels: [2, 1, 1])
            #expect(p.predicted == [0, 1, 0])        // ties go to the first class, as argmax
            let e = [exp(-2.0), 1, exp(-1.0)]
            #expect(Swift.abs(Double(p.confidence[0]) - 1.0 / 3) < 1e-6)
            #expect(Swift.abs(Double(p.confidence[1]) - 1 / e.reduce(0, +)) < 1e-6)
            #expect(Swift.abs(Double(p.confidence[2]) - 1 / (2 + exp(-6.0))) < 1e-6)
        }

        @Test func mostConfidentMistakesComeFirst() {
            let p = Predictions(labels: [0, 1, 2, 3, 4, 5], predicted: [1, 1, 0, 0, 4, 0],
                                confidence: [0.6, 0.99, 0.9, 0.6, 0.95, 0.7])
            #expect(p.mostConfidentMistakes(10) == [2, 5, 0, 3])   // 0.9, 0.7, then the two 0.6 by index
            #expect(p.mostConfidentMistakes(2) == [2, 5])
        }

        /// |∂score/∂x| against central differences of the score, on a small smooth network.
        @Test func saliencyMatchesFiniteDifferences() throws {
            Random.seed(3)
            let net = Sequential(Conv2d(outChannels: 2, kernel: 3, padding: 1), Sigmoid(), Flatten(), Linear(3))
            let image = randomTensor([1, 1, 5, 5], seed: 4, requiresGrad: false)
            _ = try net(image)
            net.train()     // saliency switches to evaluation mode itself and back
            let s = try saliency(net, image: image, classIndex: 2)
            #expect(net.isTraining)
            net.eval()
            func score(_ x: [Float]) throws -> Double {
                Double(try GradMode.withoutGrad { try net(Tensor(shape: [1, 1, 5, 5], data: x)) }.data[2])
            }
            for i in 0..<25 {
                var plus = image.data, minus = image.data
                plus[i] += 1e-2; minus[i] -= 1e-2
                let numeric = Swift.abs((try score(plus) - score(minus)) / 2e-2)
                #expect(Swift.abs(Double(s[i]) - numeric) <= 1e-3 + 2e-2 * numeric, "pixel \(i): \(s[i]) vs \(numeric)")
            }
        }

        /// Grad-CAM's channel weights are the spatial mean of ∂score/∂A, and its map is
        /// ReLU(Σ αₖAₖ): here A is the input itself (a ReLU of positive values) and the score a
        /// linear layer, so ∂score_c/∂A is the layer's weight row, known by hand.
        @Test func gradCAMWeightsAreTheMeanGradient() throws {
            Random.seed(1)
            let net = Sequential(ReLU(), Flatten(), Linear(2))
            let a: [Float] = [1, 2, 3, 4, 0.5, 0.5, 0.5, 0.5]     // two channels of 2×2
            let image = Tensor(shape: [1, 2, 2, 2], data: a)
            _ = try net(image)
            let linear = net.layers[2] as! Linear
            linear.weight!.data = [1, 1, 1, 1, -4, -4, -4, -4,      // class 0
                                   0, 0, 0, 0, 0, 0, 0, 0]
            linear.weight!.data[8..<16] = [2, 0, 0, 2, 1, 1, 1, 5]   // class 1
            let cam0 = try GradCAM(net, stage: 0, image: image, classIndex: 0)
            #expect(cam0.weights == [1, -4])
            #expect(cam0.map == [0, 0, 1, 2])        // ReLU(1·[1,2,3,4] − 4·0.5)
            let cam1 = try GradCAM(net, stage: 0, image: image, classIndex: 1)
            #expect(cam1.weights == [1, 2])
            #expect(cam1.map == [2, 3, 4, 5])        // 1·A₀ + 2·0.5
            #expect(cam1.height == 2 && cam1.width == 2)
            // Upsampled with aligned pixel centres: the corners keep the corner values.
            let up = cam1.upsampled(to: 4)
            #expect(up[0] == 2 && up[3] == 3 && up[12] == 4 && up[15] == 5)
        }

        @Test func deadChannelsAreZeroEverywhere() throws {
            let net = Sequential(ReLU())
            // Channel 0 is negative everywhere (dead after the ReLU), channel 1 not.
            let x = Tensor(shape: [2, 2, 1, 2], data: [-1, -2, 3, -1, -5, -0.5, 0, 2])
            let stats = try ActivationStatistics(net, images: x, labels: [0: "relu"])
            #expect(stats.layers.count == 1 && stats.layers[0].name == "relu")
            #expect(stats.layers[0].deadFraction == 0.5 && stats.layers[0].shape == [2, 1, 2])
            #expect(Swift.abs(stats.layers[0].mean - 5.0 / 8) < 1e-12)
        }
    }
}
