import Testing
@testable import D2L
@testable import Models

/// The `state_dict` names of every chapter model equal those of the book's PyTorch code, in
/// PyTorch's order. The expected lists are written from the book's module structure
/// (zh 2.0.0 `nn.Sequential` code for 7.1–7.7, en 1.0 `RegNetX32` for 7.8), not from ours.
extension CoreTests {
    @Suite struct StateDictNameTests {
        /// `weight` and `bias` of a convolution or linear layer at `path`.
        func affine(_ path: String) -> [String] { [path + ".weight", path + ".bias"] }
        /// `nn.BatchNorm2d`/`1d` at `path`: γ, β, then the three buffers.
        func batchNorm(_ path: String) -> [String] {
            ["weight", "bias", "running_mean", "running_var", "num_batches_tracked"].map { path + "." + $0 }
        }

        func keys(_ make: () -> Module, side: Int, prefix: String = "") throws -> [String] {
            Random.seed(0)
            let net = make()
            net.eval()
            _ = try GradMode.withoutGrad { try net(Tensor.zeros([1, 1, side, side])) }
            return net.stateDictKeys(prefix: prefix)
        }

        @Test func alexNet() throws {
            // Conv ReLU MaxPool Conv ReLU MaxPool Conv ReLU Conv ReLU Conv ReLU MaxPool Flatten Linear ReLU Dropout Linear ReLU Dropout Linear
            #expect(try keys({ Models.alexNet() }, side: 67) == [0, 3, 6, 8, 10, 14, 17, 20].flatMap { affine(String($0)) })
        }

        @Test func vggSmall() throws {
            // vgg_block(n, c) = Sequential(n × [Conv, ReLU], MaxPool); net = Sequential(*blocks, Flatten, Linear, ReLU, Dropout, Linear, ReLU, Dropout, Linear)
            let convs = [(0, 1), (1, 1), (2, 2), (3, 2), (4, 2)].flatMap { block, n in (0..<n).flatMap { affine("\(block).\(2 * $0)") } }
            #expect(try keys({ vgg(vggSmallArchitecture) }, side: 32) == convs + [6, 9, 12].flatMap { affine(String($0)) })
        }

        @Test func nin() throws {
            // nin_block = Sequential(Conv, ReLU, Conv1×1, ReLU, Conv1×1, ReLU) at 0, 2, 4 and (after Dropout) 7.
            #expect(try keys({ Models.nin() }, side: 67) == [0, 2, 4, 7].flatMap { b in [0, 2, 4].flatMap { affine("\(b).\($0)") } })
        }

        @Test func googLeNet() throws {
            // b1 = Sequential(Conv, ReLU, MaxPool); b2 = Sequential(Conv, ReLU, Conv, ReLU, MaxPool);
            // b3 = (Inception ×2, MaxPool); b4 = (Inception ×5, MaxPool); b5 = (Inception ×2, AdaptiveAvgPool, Flatten); Linear.
            let inception = ["p1_1", "p2_1", "p2_2", "p3_1", "p3_2", "p4_2"]
            let blocks = ["2.0", "2.1", "3.0", "3.1", "3.2", "3.3", "3.4", "4.0", "4.1"]
            let expected = affine("0.0") + affine("1.0") + affine("1.2")
                + blocks.flatMap { b in inception.flatMap { affine(b + "." + $0) } } + affine("5")
            #expect(try keys({ Models.googLeNet() }, side: 32) == expected)
        }

        @Test func bnLeNetConcise() throws {
            // Conv BN Sigmoid AvgPool Conv BN Sigmoid AvgPool Flatten Linear BN Sigmoid Linear BN Sigmoid Linear
            let expected = affine("0") + batchNorm("1") + affine("4") + batchNorm("5") + affine("9") + batchNorm("10")
                + affine("12") + batchNorm("13") + affine("15")
            #expect(try keys({ bnLeNet() }, side: 28) == expected)
        }

        @Test func bnLeNetScratch() throws {
            // The book's scratch BatchNorm registers only gamma and beta; we add the moving
            // statistics, which loading treats as optional.
            let bookKeys = affine("0") + ["1.gamma", "1.beta"] + affine("4") + ["5.gamma", "5.beta"] + affine("9")
                + ["10.gamma", "10.beta"] + affine("12") + ["13.gamma", "13.beta"] + affine("15")
            let ours = try keys({ Models.bnLeNetScratch() }, side: 28)
            #expect(ours.filter { !$0.contains("moving_") } == bookKeys)
            #expect(ours.filter { $0.contains("moving_") } == ["1", "5", "10", "13"].flatMap { [$0 + ".moving_mean", $0 + ".moving_var"] })
        }

        @Test func resNet18() throws {
            // b1 = Sequential(Conv, BN, ReLU, MaxPool); b2…b5 = Sequential(Residual, Residual);
            // Residual registers conv1, conv2, conv3 (when use_1x1conv), bn1, bn2; then AdaptiveAvgPool, Flatten, Linear at 7.
            var expected = affine("0.0") + batchNorm("0.1")
            for stage in 1...4 {
                for block in 0..<2 {
                    let p = "\(stage).\(block)"
                    expected += affine(p + ".conv1") + affine(p + ".conv2")
                    if stage > 1 && block == 0 { expected += affine(p + ".conv3") }
                    expected += batchNorm(p + ".bn1") + batchNorm(p + ".bn2")
                }
            }
            expected += affine("7")
            #expect(try keys({ Models.resNet18() }, side: 32) == expected)
        }

        @Test func denseNet() throws {
            // b1; DenseBlock (self.net = Sequential of conv_block(BN, ReLU, Conv)) at 1, 3, 5, 7;
            // transition_block (BN, ReLU, Conv1×1, AvgPool) at 2, 4, 6; BN at 8; Linear at 12.
            var expected = affine("0.0") + batchNorm("0.1")
            for i in 1...7 {
                if i % 2 == 1 {
                    for c in 0..<4 { expected += batchNorm("\(i).net.\(c).0") + affine("\(i).net.\(c).2") }
                } else {
                    expected += batchNorm("\(i).0") + affine("\(i).2")
                }
            }
            expected += batchNorm("8") + affine("12")
            #expect(try keys({ Models.denseNet() }, side: 32) == expected)
        }

        @Test func regNetX32() throws {
            // en 1.0: a d2l.Classifier with self.net = Sequential(stem, stage1, stage2, head);
            // stem = Sequential(Conv, BN, ReLU); ResNeXtBlock registers conv1, conv2, conv3, bn1, bn2, bn3, then
            // conv4, bn4 when use_1x1conv (the first block of each stage); head = Sequential(AvgPool, Flatten, Linear).
            var expected = affine("net.0.0") + batchNorm("net.0.1")
            for (stage, depth) in [(1, 4), (2, 6)] {
                for block in 0..<depth {
                    let p = "net.stage\(stage).\(block)"
                    expected += affine(p + ".conv1") + affine(p + ".conv2") + affine(p + ".conv3")
                    expected += batchNorm(p + ".bn1") + batchNorm(p + ".bn2") + batchNorm(p + ".bn3")
                    if block == 0 { expected += affine(p + ".conv4") + batchNorm(p + ".bn4") }
                }
            }
            expected += affine("net.head.2")
            let entry = try #require(ModelCatalog.entry("regnetx32"))
            #expect(try keys(entry.make, side: 32, prefix: entry.stateDictPrefix) == expected)
        }
    }
}
