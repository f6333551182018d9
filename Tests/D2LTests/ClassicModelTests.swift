import Testing
@testable import D2L
@testable import Models

/// AlexNet, VGG, NiN and GoogLeNet (chapters 7.1–7.4): the book's printouts, parameter totals,
/// state_dict names, and a training step at a reduced resolution.
extension CoreTests {
    @Suite struct ClassicModelTests {
        @Test func alexNetPrintoutAndParameters() throws {
            Random.seed(0)
            let s = try alexNet().layerSummary(inputShape: [1, 1, 224, 224])
            #expect(s.printout == """
            Conv2d output shape:\t[1, 96, 54, 54]
            ReLU output shape:\t[1, 96, 54, 54]
            MaxPool2d output shape:\t[1, 96, 26, 26]
            Conv2d output shape:\t[1, 256, 26, 26]
            ReLU output shape:\t[1, 256, 26, 26]
            MaxPool2d output shape:\t[1, 256, 12, 12]
            Conv2d output shape:\t[1, 384, 12, 12]
            ReLU output shape:\t[1, 384, 12, 12]
            Conv2d output shape:\t[1, 384, 12, 12]
            ReLU output shape:\t[1, 384, 12, 12]
            Conv2d output shape:\t[1, 256, 12, 12]
            ReLU output shape:\t[1, 256, 12, 12]
            MaxPool2d output shape:\t[1, 256, 5, 5]
            Flatten output shape:\t[1, 6400]
            Linear output shape:\t[1, 4096]
            ReLU output shape:\t[1, 4096]
            Dropout output shape:\t[1, 4096]
            Linear output shape:\t[1, 4096]
            ReLU output shape:\t[1, 4096]
            Dropout output shape:\t[1, 4096]
            Linear output shape:\t[1, 10]
            """)
            #expect(s.totalParameters == 46_764_746)
        }

        @Test func vggPrintoutsAndParameters() throws {
            Random.seed(0)
            let full = try vgg(vgg11Architecture).layerSummary(inputShape: [1, 1, 224, 224])
            #expect(full.printout == """
            Sequential output shape:\t[1, 64, 112, 112]
            Sequential output shape:\t[1, 128, 56, 56]
            Sequential output shape:\t[1, 256, 28, 28]
            Sequential output shape:\t[1, 512, 14, 14]
            Sequential output shape:\t[1, 512, 7, 7]
            Flatten output shape:\t[1, 25088]
            Linear output shape:\t[1, 4096]
            ReLU output shape:\t[1, 4096]
            Dropout output shape:\t[1, 4096]
            Linear output shape:\t[1, 4096]
            ReLU output shape:\t[1, 4096]
            Dropout output shape:\t[1, 4096]
            Linear output shape:\t[1, 10]
            """)
            #expect(full.totalParameters == 128_806_154)
            let small = try vgg(vggSmallArchitecture).layerSummary(inputShape: [1, 1, 224, 224])
            #expect(small.rows.prefix(6).map(\.outputShape) == [[1, 16, 112, 112], [1, 32, 56, 56], [1, 64, 28, 28],
                                                               [1, 128, 14, 14], [1, 128, 7, 7], [1, 6272]])
            #expect(small.totalParameters == 43_093_322)
            #expect(try vggBlock(convs: 2, channels: 128)(Tensor.zeros([1, 64, 56, 56])).shape == [1, 128, 28, 28])
        }

        @Test func ninPrintoutAndParameters() throws {
            Random.seed(0)
            let s = try nin().layerSummary(inputShape: [1, 1, 224, 224])
            #expect(s.printout == """
            Sequential output shape:\t[1, 96, 54, 54]
            MaxPool2d output shape:\t[1, 96, 26, 26]
            Sequential output shape:\t[1, 256, 26, 26]
            MaxPool2d output shape:\t[1, 256, 12, 12]
            Sequential output shape:\t[1, 384, 12, 12]
            MaxPool2d output shape:\t[1, 384, 5, 5]
            Dropout output shape:\t[1, 384, 5, 5]
            Sequential output shape:\t[1, 10, 5, 5]
            AdaptiveAvgPool2d output shape:\t[1, 10, 1, 1]
            Flatten output shape:\t[1, 10]
            """)
            #expect(s.totalParameters == 1_992_166)
        }

        @Test func googLeNetPrintoutAndParameters() throws {
            Random.seed(0)
            let net = googLeNet()
            let s = try net.layerSummary(inputShape: [1, 1, 96, 96])
            #expect(s.printout == """
            Sequential output shape:\t[1, 64, 24, 24]
            Sequential output shape:\t[1, 192, 12, 12]
            Sequential output shape:\t[1, 480, 6, 6]
            Sequential output shape:\t[1, 832, 3, 3]
            Sequential output shape:\t[1, 1024]
            Linear output shape:\t[1, 10]
            """)
            #expect(s.totalParameters == 5_977_530)
            // The same network at 224×224 has the same parameters (global pooling before the head).
            #expect(try googLeNet().layerSummary(inputShape: [1, 1, 224, 224]).totalParameters == 5_977_530)
        }

        /// The parameter names are the book's state_dict keys (nn.Sequential indices and the
        /// Inception block's attributes).
        @Test func stateDictNames() throws {
            Random.seed(0)
            let alex = alexNet(); _ = try alex(Tensor.zeros([1, 1, 224, 224]))
            #expect(alex.namedParameters.map(\.0) == ["0.weight", "0.bias", "3.weight", "3.bias", "6.weight", "6.bias",
                                                      "8.weight", "8.bias", "10.weight", "10.bias", "14.weight", "14.bias",
                                                      "17.weight", "17.bias", "20.weight", "20.bias"])
            let small = vgg(vggSmallArchitecture); _ = try small(Tensor.zeros([1, 1, 224, 224]))
            #expect(small.namedParameters.map(\.0) == ["0.0.weight", "0.0.bias", "1.0.weight", "1.0.bias",
                                                       "2.0.weight", "2.0.bias", "2.2.weight", "2.2.bias",
                                                       "3.0.weight", "3.0.bias", "3.2.weight", "3.2.bias",
                                                       "4.0.weight", "4.0.bias", "4.2.weight", "4.2.bias",
                                                       "6.weight", "6.bias", "9.weight", "9.bias", "12.weight", "12.bias"])
            let n = nin(); _ = try n(Tensor.zeros([1, 1, 224, 224]))
            #expect(n.namedParameters.map(\.0).prefix(6) == ["0.0.weight", "0.0.bias", "0.2.weight", "0.2.bias", "0.4.weight", "0.4.bias"])
            #expect(n.namedParameters.map(\.0).suffix(2) == ["7.4.weight", "7.4.bias"])
            let g = googLeNet(); _ = try g(Tensor.zeros([1, 1, 96, 96]))
            let names = g.namedParameters.map(\.0)
            #expect(names.prefix(6) == ["0.0.weight", "0.0.bias", "1.0.weight", "1.0.bias", "1.2.weight", "1.2.bias"])
            #expect(names.contains("2.0.p1_1.weight") && names.contains("3.4.p3_2.bias") && names.contains("4.1.p4_2.weight"))
            #expect(names.suffix(2) == ["5.weight", "5.bias"])
            #expect(names.count == 2 + 4 + 9 * 12 + 2)
        }

        /// NiN's dead-last-block check: a live network is not flagged, and one SGD step moves
        /// its first layer; after the last block's first biases are pushed far below zero it is
        /// flagged, and a step leaves every weight before that layer unchanged (no gradient gets
        /// through), which is what the check's message tells the learner.
        @Test func ninDeadLastBlockIsDetected() throws {
            Random.seed(3)
            let net = nin()
            let x = randomTensor([6, 1, 67, 67], seed: 4, 0, 1, requiresGrad: false)
            _ = try net(x)
            net.initialize(.xavierUniform)
            let deadFrom = net.namedParameters.firstIndex { $0.0 == "7.0.weight" }!
            /// Which parameters one SGD step changes.
            func step() throws -> [Bool] {
                let before = net.parameters.map(\.data)
                let sgd = SGD(net.parameters, learningRate: 0.5)
                sgd.zeroGrad()
                crossEntropy(try net(x), labels: [0, 1, 2, 3, 4, 5]).backward()
                sgd.step()
                return zip(before, net.parameters.map(\.data)).map { $0 != $1 }
            }
            #expect(try ninLastBlockIsDead(net, images: x) == false)
            #expect(net.isTraining, "the check restores training mode")
            #expect(try step()[0], "a live network's first layer learns")
            let firstConv = (net.layers[7] as! Sequential).layers[0] as! Conv2d
            firstConv.bias!.data = [Float](repeating: -100, count: 10)
            #expect(try ninLastBlockIsDead(net, images: x))
            #expect(try step()[..<deadFrom].allSatisfy { !$0 }, "nothing before the dead layer learns")
        }

        /// Each network takes one SGD step on a tiny batch at its smallest practical size: the
        /// loss is finite, every parameter gets a finite gradient, and the step changes the loss.
        @Test(arguments: [("alexnet", 67), ("vgg_small", 32), ("nin", 67), ("googlenet", 32)])
        func trainingStepAtReducedResolution(model: String, side: Int) throws {
            Random.seed(7)
            let net = ModelCatalog.entry(model)!.make()
            let x = randomTensor([4, 1, side, side], seed: 8, requiresGrad: false)
            let labels: [Int32] = [0, 3, 5, 9]
            _ = try net(x)
            net.initialize(.xavierUniform)
            net.train()
            Random.seed(9)
            let loss = crossEntropy(try net(x), labels: labels)
            #expect(loss.item.isFinite)
            let sgd = SGD(net.parameters, learningRate: 0.01)
            sgd.zeroGrad()
            loss.backward()
            for (name, p) in net.namedParameters {
                let g = try #require(p.grad, "\(name) has no gradient")
                #expect(g.allSatisfy { $0.isFinite }, "\(name)")
            }
            #expect(net.parameters.contains { p in p.grad!.contains { $0 != 0 } })
            sgd.step()
            net.eval()
            let before = loss.item
            let after = crossEntropy(try GradMode.withoutGrad { try net(x) }, labels: labels).item
            #expect(after.isFinite && after != before)
        }

        /// The memory check's estimate: linear in the batch, 12 bytes per activation per image.
        @Test func memoryEstimateScalesWithTheBatch() throws {
            Random.seed(0)
            let s = try alexNet().layerSummary(inputShape: [1, 1, 67, 67])
            // Outputs of all 21 layers for one 67×67 image.
            #expect(s.activations == s.rows.reduce(0) { $0 + $1.outputShape.reduce(1, *) })
            let one = MemoryEstimate.trainingBytes(s, batch: 1), two = MemoryEstimate.trainingBytes(s, batch: 2)
            #expect(two - one == 12 * s.activations)
            #expect(MemoryEstimate.trainingBytes(s, batch: 100) - one == 99 * (two - one))
            #expect(MemoryEstimate.trainingBytes(s, batch: 0) == 12 * s.totalParameters + MemoryEstimate.baseline)
            #expect(MemoryEstimate.availableBytes > 1 << 30)
        }

        @Test func inceptionShapesAndGradients() throws {
            Random.seed(11)
            let demo = Inception(64, (96, 128), (16, 32), 32)
            #expect(try demo(Tensor.zeros([1, 192, 12, 12])).shape == [1, 256, 12, 12])
            let block = Inception(2, (2, 3), (1, 2), 2)
            let x = randomTensor([2, 3, 5, 5], seed: 12)
            #expect(try block(x).shape == [2, 9, 5, 5])
            try checkGradients([x] + block.parameters, eps: 1e-3, rtol: 3e-2, atol: 5e-3, skipKinks: true) { try block(x) }
        }
    }
}
