import Foundation
import Testing
@testable import D2L
@testable import Models
import Experiments

/// RegNetX-32, the ResNeXt block, and the design-space sampler and study bookkeeping (chapter 7.8).
extension CoreTests {
    @Suite struct RegNetTests {
        @Test func resNeXtBlockDemoAndRegNetPrintout() throws {
            Random.seed(0)
            let block = ResNeXtBlock(channels: 32, groupWidth: 16, botMul: 1)
            #expect(try block(Tensor.zeros([4, 32, 96, 96])).shape == [4, 32, 96, 96])
            #expect(block.groups == 2)
            let net = regNetX32()
            let s = try net.layerSummary(inputShape: [1, 1, 96, 96])
            #expect(s.printout == """
            Sequential output shape:\t[1, 32, 48, 48]
            Sequential output shape:\t[1, 32, 24, 24]
            Sequential output shape:\t[1, 80, 12, 12]
            Sequential output shape:\t[1, 10]
            """)
            #expect(s.totalParameters == 179_290)
            let names = net.namedParameters.map(\.0)
            #expect(names.prefix(4) == ["0.0.weight", "0.0.bias", "0.1.weight", "0.1.bias"])
            #expect(names.contains("stage1.0.conv4.weight") && names.contains("stage1.0.bn4.bias") && !names.contains("stage1.1.conv4.weight"))
            #expect(names.contains("stage2.5.conv2.weight") && names.suffix(2) == ["head.2.weight", "head.2.bias"])
            #expect(net.namedBuffers.map(\.0).contains("stage2.5.bn3.running_var"))
        }

        @Test(arguments: [false, true])
        func resNeXtBlockGradients(projection: Bool) throws {
            Random.seed(21)
            // 4 channels, group width 2 → 2 groups (grouped convolution in the gradient).
            let block = ResNeXtBlock(channels: 4, groupWidth: 2, botMul: projection ? 0.5 : 1, use1x1Conv: projection, strides: projection ? 2 : 1)
            let x = randomTensor([3, projection ? 2 : 4, 4, 4], seed: 22)
            _ = try block(x)
            try checkGradients([x] + block.parameters, eps: 1e-3, rtol: 3e-2, atol: 5e-3, skipKinks: true) {
                let saved = block.namedBuffers.map { $0.1.data }
                defer { for (b, d) in zip(block.namedBuffers, saved) { b.1.data = d } }
                return try block(x)
            }
        }

        /// The analytic parameter and FLOP counts the sampler uses equal those of the built network.
        @Test func analyticCountsMatchTheNetwork() throws {
            let sampler = DesignSpaceSampler(side: 28, macBand: 0...Int.max)
            for (i, space) in DesignSpace.allCases.enumerated() {
                for index in 0..<4 {
                    let arch = try sampler.sample(space, index: index, seed: UInt64(i)).architecture
                    Random.seed(1)
                    let s = try arch.make().layerSummary(inputShape: [1, 1, 28, 28])
                    #expect(s.totalParameters == arch.parameterCount(), "\(arch.description)")
                    #expect(s.totalFlops == arch.flops(side: 28), "\(arch.description)")
                }
            }
            let x32 = AnyNetArchitecture(stem: 32, stages: regNetX32Stages)
            #expect(x32.parameterCount() == 179_290)
        }

        /// Hundreds of samples per space, each checked against the space's rules and the band.
        @Test func samplerRespectsEverySpace() throws {
            let band = 3_000_000...6_000_000
            let sampler = DesignSpaceSampler(side: 28, macBand: band)
            for space in DesignSpace.allCases {
                var distinct = Set<AnyNetArchitecture>()
                for index in 0..<150 {
                    let s = try sampler.sample(space, index: index, seed: 5)
                    let a = s.architecture
                    #expect(sampler.satisfies(a, space), "\(space.name) #\(index): \(a.description)")
                    #expect(band.contains(a.multiplyAdds(side: 28)) && s.multiplyAdds == a.multiplyAdds(side: 28))
                    for st in a.stages {
                        #expect(st.channels % 8 == 0)
                        let wb = st.bottleneckWidth
                        #expect(wb % st.groupWidth == 0, "group width \(st.groupWidth) does not divide \(wb)")
                    }
                    if space == .d || space == .e || space == .x {
                        #expect(zip(a.stages, a.stages.dropFirst()).allSatisfy { $1.channels >= $0.channels })
                    }
                    if space == .e { #expect(zip(a.stages, a.stages.dropFirst()).allSatisfy { $1.depth >= $0.depth }) }
                    if space != .a { #expect(Set(a.stages.map(\.botMul)).count == 1) }
                    distinct.insert(a)
                }
                #expect(distinct.count > 60, "\(space.name) produced only \(distinct.count) distinct networks")
            }
            // A's freedom: some A samples violate C's shared group width and D's ordering.
            let aSamples = try (0..<100).map { try sampler.sample(.a, index: $0, seed: 5).architecture }
            #expect(aSamples.contains { !sampler.satisfies($0, .c) })
            #expect(aSamples.contains { !sampler.satisfies($0, .d) })
        }

        @Test func samplesAreDeterministic() throws {
            let sampler = DesignSpaceSampler(side: 28, macBand: 3_000_000...6_000_000)
            for space in DesignSpace.allCases {
                let a = try sampler.sample(space, index: 7, seed: 3).architecture
                #expect(try sampler.sample(space, index: 7, seed: 3).architecture == a)
                let other = try sampler.sample(space, index: 8, seed: 3).architecture
                let reseeded = try sampler.sample(space, index: 7, seed: 4).architecture
                #expect(other != a || reseeded != a)
            }
        }

        @Test func unreachableBandIsAnError() {
            var sampler = DesignSpaceSampler(side: 28, macBand: 1...2)
            sampler.maxTries = 200
            #expect(throws: DesignSpaceSampler.SamplerError.self) { try sampler.sample(.a, index: 0, seed: 0) }
        }

        @Test func divisibilityFixAndQuantizedWidths() {
            // g larger than the bottleneck width becomes that width; otherwise w_b rounds to a multiple of g.
            #expect(DesignSpaceSampler.compatible(width: 8, bottleneck: 1, groupWidth: 16) == (8, 8))
            #expect(DesignSpaceSampler.compatible(width: 24, bottleneck: 1, groupWidth: 16) == (32, 16))
            #expect(DesignSpaceSampler.compatible(width: 40, bottleneck: 2, groupWidth: 8) == (48, 8))
            #expect(DesignSpaceSampler.compatible(width: 48, bottleneck: 2, groupWidth: 8) == (48, 8))
            // u_j = 24 + 36 j with wm = 2.5: 24, 60, 96, 132 → s = 0, 1, 2, 2 → 24, 60, 150, 150 (rounded to 8s).
            #expect(DesignSpaceSampler.quantizedLinearWidths(depth: 4, w0: 24, wa: 36, wm: 2.5) == [24, 64, 152, 152])
            // pycls's stage rule: exponents 0, 1, 2, 2 give three widths and span three levels.
            #expect(DesignSpaceSampler.regNetStageCount(depth: 4, w0: 24, wa: 36, wm: 2.5) == 3)
            // u = 8, 8.4 with wm 1.05: exponents 0 and 1, but both round to width 8: rejected.
            #expect(DesignSpaceSampler.quantizedLinearWidths(depth: 2, w0: 8, wa: 0.4, wm: 1.05) == [8, 8])
            #expect(DesignSpaceSampler.regNetStageCount(depth: 2, w0: 8, wa: 0.4, wm: 1.05) == nil)
        }

        /// Multiply-adds as pycls counts them, by hand for one small network at 28×28: stem
        /// 3×3 1→16 on 14×14; one block to 32 channels (b = 1, g = 8) that halves to 7×7.
        @Test func multiplyAddsCountedByHand() {
            let arch = AnyNetArchitecture(stem: 16, stages: [AnyNetStage(depth: 1, channels: 32, groupWidth: 8, botMul: 1)])
            let stem = 14 * 14 * 16 * 9
            let reduce = 14 * 14 * 16 * 32            // 1×1 at the input's 14×14
            let grouped = 7 * 7 * 32 * 8 * 9          // 3×3, stride 2, 4 groups of 8 channels
            let expand = 7 * 7 * 32 * 32
            let projection = 7 * 7 * 16 * 32
            #expect(arch.multiplyAdds(side: 28) == stem + reduce + grouped + expand + projection + 32 * 10)
            // With a bottleneck (b = 2: 16 channels inside, g = 8: 2 groups) and a second block.
            let deeper = AnyNetArchitecture(stem: 16, stages: [AnyNetStage(depth: 2, channels: 32, groupWidth: 8, botMul: 0.5)])
            let first = 14 * 14 * 16 * 16 + 7 * 7 * 16 * 8 * 9 + 7 * 7 * 16 * 32 + 7 * 7 * 16 * 32
            let second = 7 * 7 * 32 * 16 + 7 * 7 * 16 * 8 * 9 + 7 * 7 * 16 * 32
            #expect(deeper.multiplyAdds(side: 28) == stem + first + second + 32 * 10)
            // Against the layer summary: its FLOPs count 2 per multiply-add plus biases, BN, ReLU and pooling.
            #expect(2 * arch.multiplyAdds(side: 28) < arch.flops(side: 28))
        }

        @Test func shardsPartitionTheIndices() {
            for n in 1...5 {
                let shards = (0..<n).map { Shard(index: $0, count: n) }
                for index in 0..<50 { #expect(shards.filter { $0.contains(index) }.count == 1) }
            }
            #expect(Shard("2/4") == Shard(index: 2, count: 4))
            #expect(Shard("4/4") == nil && Shard("x") == nil && Shard("1/0") == nil && Shard("-1/3") == nil)
        }

        @Test func empiricalCDFOfHandMadeErrors() {
            let cdf = empiricalCDF([0.3, 0.1, 0.2, 0.2])
            #expect(cdf.map(\.x) == [0.1, 0.2, 0.2, 0.3])
            #expect(cdf.map(\.y) == [0.25, 0.5, 0.75, 1.0])
            let s = SpaceStatistics(space: .a, errors: [0.3, 0.1, 0.2, 0.2])
            #expect(s.n == 4 && s.minError == 0.1 && abs(s.meanError - 0.2) < 1e-12 && abs(s.medianError - 0.2) < 1e-12)
            #expect(abs(s.standardDeviation - (0.02 / 3).squareRoot()) < 1e-12)
        }

        @Test func logResumesAndMerges() throws {
            let dir = NSTemporaryDirectory() + "study-\(getpid())"
            try? FileManager.default.removeItem(atPath: dir)
            try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: dir) }
            let sampler = DesignSpaceSampler(side: 28, macBand: 0...Int.max)
            func record(_ space: DesignSpace, _ i: Int, error: Double) throws -> StudyRecord {
                let s = try sampler.sample(space, index: i, seed: 0)
                return StudyRecord(space: space, index: i, seed: 0, architecture: s.architecture, params: s.parameters, macs: s.multiplyAdds,
                                   error: error, seconds: 1, budgetSteps: 10, batchSize: 64, side: 28, macsBand: 0...Int.max)
            }
            let a = dir + "/a.jsonl", b = dir + "/b.jsonl"
            try StudyLog.append(try record(.a, 0, error: 0.2), to: a)
            try StudyLog.append(try record(.a, 2, error: 0.3), to: a)
            try StudyLog.append(try record(.a, 1, error: 0.25), to: b)
            try StudyLog.append(try record(.a, 2, error: 0.3), to: b)     // the same experiment in both
            let (ra, skipped) = try StudyLog.read(a)
            let first = try record(.a, 0, error: 0.2)
            #expect(skipped == 0 && ra.map(\.index) == [0, 2] && ra[0] == first)
            let merged = StudyLog.merge([ra, try StudyLog.read(b).records])
            #expect(merged.map(\.index).sorted() == [0, 1, 2])
            // A run killed mid-write leaves a partial last line: skipped, the rest kept.
            let handle = FileHandle(forWritingAtPath: a)!
            handle.seekToEndOfFile()
            handle.write(Data("{\"space\":\"A\",\"ind".utf8))
            handle.closeFile()
            let (again, skippedNow) = try StudyLog.read(a)
            #expect(again.count == 2 && skippedNow == 1)
            // Damage in the middle is an error naming the line.
            try Data("{}\n".utf8 + (try Data(contentsOf: URL(fileURLWithPath: b)))).write(to: URL(fileURLWithPath: b))
            #expect(throws: StudyFileError.self) { try StudyLog.read(b) }
            // A log from before studies counted multiply-adds says so, and what to do.
            let old = dir + "/old.jsonl"
            let oldLine = "{\"space\":\"A\",\"index\":0,\"flops\":197008,\"flops_band\":[0,100000000]}\n"
            try Data((oldLine + oldLine).utf8).write(to: URL(fileURLWithPath: old))
            do {
                _ = try StudyLog.read(old)
                Issue.record("an earlier version's log was read")
            } catch let error as StudyFileError {
                #expect(error.line == 1 && error.description.contains("multiply-adds") && error.description.contains("--out-dir"))
            }
        }

        /// Inputs the fuzzer found: an empty log (Foundation's whole-file read leaked a buffer on
        /// it, so the readers use `fileContents`) reads as no records.
        @Test func fuzzFoundInputsReadCleanly() throws {
            let dir = temporaryFolder("fuzz-found")
            #expect(FileManager.default.createFile(atPath: dir + "/empty.jsonl", contents: Data()))
            let (records, skipped) = try StudyLog.read(dir + "/empty.jsonl")
            #expect(records.isEmpty && skipped == 0)
            #expect(fileContents(atPath: dir + "/empty.jsonl") == Data())
            #expect(fileContents(atPath: dir + "/absent") == nil)
            let bytes = Data((0..<200_000).map { UInt8($0 % 251) })
            #expect(FileManager.default.createFile(atPath: dir + "/large", contents: bytes))
            #expect(fileContents(atPath: dir + "/large") == bytes)
        }

        @Test func edfPlotIsDrawn() throws {
            let canvas = designSpaceEDFPlot([(.a, [0.3, 0.2, 0.25]), (.x, [0.15, 0.18])], title: "test")
            #expect(canvas.width == 760 && canvas.height == 500)
            // Both series' colours appear on the canvas.
            let pixels = canvas.pixels   // converted from the drawing surface once
            func contains(_ c: RGB) -> Bool {
                stride(from: 0, to: pixels.count, by: 3).contains { pixels[$0] == c.r && pixels[$0 + 1] == c.g && pixels[$0 + 2] == c.b }
            }
            #expect(contains(RGB.palette[0]) && contains(RGB.palette[1]))
        }
    }
}
