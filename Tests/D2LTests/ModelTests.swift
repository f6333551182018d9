import Testing
@testable import D2L
@testable import Models

extension CoreTests {
    @Suite struct ModelTests {
        /// The pictures draw the filters of `firstConvolution`: every chapter network's input layer.
        @Test func firstConvolutionIsTheInputLayer() throws {
            let expected: [String: (channels: Int, kernel: Int)] = [
                "alexnet": (96, 11), "vgg_small": (16, 3), "nin": (96, 11), "googlenet": (64, 7), "bn_lenet": (6, 5),
                "bn_lenet_scratch": (6, 5), "resnet18": (64, 7), "densenet": (64, 7), "regnetx32": (32, 3),
            ]
            #expect(Set(expected.keys) == Set(ModelCatalog.names))
            for entry in ModelCatalog.entries {
                let conv = try #require(entry.make().firstConvolution, "\(entry.name)")
                #expect(conv.outChannels == expected[entry.name]!.channels && conv.kernel.0 == expected[entry.name]!.kernel, "\(entry.name)")
            }
            let net = resNet18()
            #expect(net.firstConvolution === (net.layers[0] as! Sequential).layers[0] as! Conv2d)
            #expect(Sequential(ReLU(), Flatten()).firstConvolution == nil)
        }

        @Test func residualDemoShapes() throws {
            Random.seed(0)
            let x = randomTensor([4, 3, 6, 6], seed: 1, requiresGrad: false)
            #expect(try Residual(3)(x).shape == [4, 3, 6, 6])
            #expect(try Residual(6, use1x1Conv: true, strides: 2)(x).shape == [4, 6, 3, 3])
            // Without the 1×1 shortcut the shapes cannot be added, and the error says where.
            do {
                _ = try Residual(6, strides: 2)(x)
                Issue.record("expected a residual shape error")
            } catch let e as LayerError {
                #expect(e.description.contains("use a 1×1 convolution"))
            }
        }

        @Test func denseDemoShapes() throws {
            Random.seed(0)
            let x = randomTensor([4, 3, 8, 8], seed: 2, requiresGrad: false)
            let y = try DenseBlock(2, growth: 10)(x)
            #expect(y.shape == [4, 23, 8, 8])
            #expect(try transitionBlock(10)(y).shape == [4, 10, 4, 4])
        }

        @Test func resNetPrintoutsAndParameters() throws {
            Random.seed(0)
            let net = resNet18()
            let s224 = try net.layerSummary(inputShape: [1, 1, 224, 224])
            #expect(s224.printout == """
            Sequential output shape:\t[1, 64, 56, 56]
            Sequential output shape:\t[1, 64, 56, 56]
            Sequential output shape:\t[1, 128, 28, 28]
            Sequential output shape:\t[1, 256, 14, 14]
            Sequential output shape:\t[1, 512, 7, 7]
            AdaptiveAvgPool2d output shape:\t[1, 512, 1, 1]
            Flatten output shape:\t[1, 512]
            Linear output shape:\t[1, 10]
            """)
            #expect(s224.totalParameters == 11_178_378)
            let s96 = try net.layerSummary(inputShape: [1, 1, 96, 96])
            #expect(s96.rows.map(\.outputShape).prefix(5) == [[1, 64, 24, 24], [1, 64, 24, 24], [1, 128, 12, 12], [1, 256, 6, 6], [1, 512, 3, 3]])
            // Names follow the book's state_dict: stage.block.attribute.
            let names = Set(net.namedParameters.map(\.0))
            #expect(names.contains("2.0.conv3.weight") && names.contains("1.0.bn1.weight") && !names.contains("1.0.conv3.weight"))
        }

        @Test func denseNetShapesAndParameters() throws {
            Random.seed(0)
            let net = denseNet()
            let s = try net.layerSummary(inputShape: [1, 1, 96, 96])
            #expect(s.totalParameters == 758_226)
            let shapes = s.rows.map(\.outputShape)
            #expect(shapes.prefix(8) == [[1, 64, 24, 24], [1, 192, 24, 24], [1, 96, 12, 12], [1, 224, 12, 12],
                                         [1, 112, 6, 6], [1, 240, 6, 6], [1, 120, 3, 3], [1, 248, 3, 3]])
            #expect(shapes.last == [1, 10])
            #expect(s.printout.hasPrefix("Sequential output shape:\t[1, 64, 24, 24]\nDenseBlock output shape:\t[1, 192, 24, 24]"))
        }

        // These blocks put a ReLU after a batch norm in training mode: a step of 1e-2 in one weight
        // shifts a whole channel's statistics and pushes several outputs across the kink at 0,
        // which spoils the finite difference. Steps of 1e-3 stay on one side of it.
        @Test(arguments: [false, true])
        func residualBlockGradients(use1x1: Bool) throws {
            Random.seed(3)
            let block = Residual(use1x1 ? 4 : 2, use1x1Conv: use1x1, strides: use1x1 ? 2 : 1)
            let x = randomTensor([3, 2, 5, 5], seed: 4)
            _ = try block(x)     // materialise
            let params = block.parameters
            try checkGradients([x] + params, eps: 1e-3, rtol: 3e-2, atol: 5e-3) {
                // Keep the BN running statistics fixed while probing.
                let saved = block.namedBuffers.map { $0.1.data }
                defer { for (b, d) in zip(block.namedBuffers, saved) { b.1.data = d } }
                return try block(x)
            }
        }

        @Test func denseBlockGradients() throws {
            Random.seed(5)
            let block = DenseBlock(2, growth: 3)
            let x = randomTensor([3, 2, 4, 4], seed: 6)
            _ = try block(x)
            try checkGradients([x] + block.parameters, eps: 1e-3, rtol: 3e-2, atol: 5e-3) {
                let saved = block.namedBuffers.map { $0.1.data }
                defer { for (b, d) in zip(block.namedBuffers, saved) { b.1.data = d } }
                return try block(x)
            }
        }
    }
}
