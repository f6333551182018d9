import Foundation
import Testing
@testable import D2L
@testable import Models

/// A safetensors file assembled by hand: entries laid out one after another in the order given.
func handWrittenSafetensors(_ entries: [(name: String, dtype: String, shape: [Int], bytes: [UInt8])],
                            metadata: [String: String]? = nil) -> Data {
    var parts: [String] = []
    if let metadata {
        parts.append("\"__metadata__\":{" + metadata.map { "\"\($0.key)\":\"\($0.value)\"" }.joined(separator: ",") + "}")
    }
    var offset = 0
    for e in entries {
        parts.append("\"\(e.name)\":{\"dtype\":\"\(e.dtype)\",\"shape\":[\(e.shape.map(String.init).joined(separator: ","))],\"data_offsets\":[\(offset),\(offset + e.bytes.count)]}")
        offset += e.bytes.count
    }
    return rawSafetensors(header: "{" + parts.joined(separator: ",") + "}", data: entries.flatMap(\.bytes))
}

/// The 8-byte length, the header text as given, then the data bytes.
func rawSafetensors(header: String, data: [UInt8], declaredLength: UInt64? = nil) -> Data {
    var out = Data()
    withUnsafeBytes(of: (declaredLength ?? UInt64(header.utf8.count)).littleEndian) { out.append(contentsOf: $0) }
    out.append(contentsOf: Array(header.utf8))
    out.append(contentsOf: data)
    return out
}

func littleEndianBytes<T: FixedWidthInteger>(_ values: [T]) -> [UInt8] {
    values.flatMap { v in withUnsafeBytes(of: v.littleEndian) { Array($0) } }
}

func f32Bytes(_ values: [Float]) -> [UInt8] { littleEndianBytes(values.map(\.bitPattern)) }

extension CoreTests {
    @Suite struct CheckpointTests {
        /// A materialised Linear(3) on 2 features: weight (3, 2), bias (3).
        func tinyLinear() throws -> Sequential {
            Random.seed(5)
            let net = Sequential(Linear(3))
            _ = try GradMode.withoutGrad { try net(Tensor.zeros([1, 2])) }
            return net
        }

        /// Save → load into a differently initialised copy → identical logits, for every chapter
        /// model; BatchNorm's running statistics and counters come along.
        @Test(arguments: ModelCatalog.names)
        func roundTripGivesIdenticalLogits(model: String) throws {
            let entry = try #require(ModelCatalog.entry(model))
            let side = ["alexnet": 67, "nin": 67, "bn_lenet": 28, "bn_lenet_scratch": 28][model] ?? 32
            let x = randomTensor([2, 1, side, side], seed: 3, 0, 1, requiresGrad: false)
            Random.seed(1)
            let a = entry.make()
            _ = try GradMode.withoutGrad { try a(x) }          // training mode: moves the running statistics
            a.eval()
            let logitsA = try GradMode.withoutGrad { try a(x) }
            let bytes = try a.safetensorsData(prefix: entry.stateDictPrefix, metadata: ["chapter": "test"])
            let file = try SafeTensors.parse(bytes, path: "memory")
            #expect(Set(file.entries.keys) == Set(a.stateDictKeys(prefix: entry.stateDictPrefix)))
            #expect(file.metadata == ["format": "pt", "chapter": "test"])

            Random.seed(2)
            let b = entry.make()
            b.eval()
            _ = try GradMode.withoutGrad { try b(x) }
            #expect(b.parameters.map(\.data) != a.parameters.map(\.data))
            try b.loadState(from: file, path: "memory", prefix: entry.stateDictPrefix)
            let logitsB = try GradMode.withoutGrad { try b(x) }
            #expect(logitsB.data == logitsA.data)
            let counters = { (m: Module) in m.namedModules.flatMap { $0.1.ownCounters.map(\.1) } }
            #expect(counters(b) == counters(a))
            if ["bn_lenet", "resnet18", "densenet", "regnetx32"].contains(model) {
                #expect(!counters(a).isEmpty && counters(a).allSatisfy { $0 == 1 })   // one training batch
            }
        }

        /// F16, BF16, F64 and I64 data written by hand load as the Float32 values they encode.
        @Test func readsHalfBFloatAndDouble() throws {
            // Half: 0.5, -1.25, 3, 65504 (largest), 2⁻²⁴ (smallest subnormal), -0.
            let half: [UInt16] = [0x3800, 0xBD00, 0x4200, 0x7BFF, 0x0001, 0x8000]
            let halfValues: [Float] = [0.5, -1.25, 3, 65504, 0x1p-24, -0.0]
            let bfloatValues: [Float] = [0.5, -1.25, 3, 256, 0.15625, -7]
            let bfloat = bfloatValues.map { UInt16($0.bitPattern >> 16) }
            let doubles: [Double] = [0.1, -2.5, 1e-3]
            let counter = handWrittenSafetensors([("n", "I64", [], littleEndianBytes([Int64(42)]))])
            #expect(try SafeTensors.parse(counter, path: "m").integers(SafeTensors.parse(counter, path: "m").entries["n"]!) == [42])

            for (dtype, weightBytes, expected) in [("F16", littleEndianBytes(half), halfValues),
                                                   ("BF16", littleEndianBytes(bfloat), bfloatValues)] {
                let data = handWrittenSafetensors([("0.weight", dtype, [3, 2], weightBytes),
                                                   ("0.bias", "F64", [3], littleEndianBytes(doubles.map(\.bitPattern)))])
                let net = try tinyLinear()
                try net.loadState(from: SafeTensors.parse(data, path: "hand"), path: "hand")
                let (w, b) = (net.namedParameters[0].1, net.namedParameters[1].1)
                #expect(w.data.map(\.bitPattern) == expected.map(\.bitPattern), "\(dtype)")
                #expect(b.data == doubles.map { Float($0) })
            }
        }

        /// Every defect of the container gets its own message, never a crash.
        @Test func malformedFilesAreNamed() throws {
            let w = f32Bytes([1, 2, 3, 4, 5, 6]), b = f32Bytes([7, 8, 9])
            let good = #"{"a":{"dtype":"F32","shape":[3,2],"data_offsets":[0,24]},"b":{"dtype":"F32","shape":[3],"data_offsets":[24,36]}}"#
            #expect(throws: Never.self) { try SafeTensors.parse(rawSafetensors(header: good, data: w + b), path: "x") }
            let cases: [(Data, String)] = [
                (Data([1, 2, 3]), "too short"),
                (rawSafetensors(header: good, data: w + b, declaredLength: 1 << 40), "more than the format allows"),
                (rawSafetensors(header: good, data: w + b, declaredLength: 5000), "truncated"),
                (rawSafetensors(header: "[" + good.dropFirst(), data: w + b), "does not start with '{'"),
                (rawSafetensors(header: "{\"a\": ", data: w + b), "not a valid JSON object"),
                (rawSafetensors(header: #"{"a":{"shape":[3,2],"data_offsets":[0,24]}}"#, data: w), "entry a of the header is malformed"),
                (rawSafetensors(header: #"{"a":{"dtype":"F32","shape":[3,2],"data_offsets":[0,24,3]}}"#, data: w), "two"),
                (rawSafetensors(header: #"{"a":{"dtype":"F32","shape":[3,-2],"data_offsets":[0,24]}}"#, data: w), "invalid shape"),
                (rawSafetensors(header: #"{"a":{"dtype":"F32","shape":[3,2],"data_offsets":[0,48]}}"#, data: w), "outside the 24-byte data section"),
                (rawSafetensors(header: #"{"a":{"dtype":"F32","shape":[3,3],"data_offsets":[0,24]}}"#, data: w), "needs 36 bytes but data_offsets give 24"),
                (rawSafetensors(header: #"{"a":{"dtype":"F32","shape":[65536,65536,65536,65536],"data_offsets":[0,24]}}"#, data: w), "more values than the file can hold"),
                (rawSafetensors(header: #"{"a":{"dtype":"F32","shape":[3,2],"data_offsets":[0,24]},"b":{"dtype":"F32","shape":[3],"data_offsets":[12,24]}}"#, data: w), "overlaps"),
                (rawSafetensors(header: #"{"a":{"dtype":"F32","shape":[3],"data_offsets":[0,12]},"b":{"dtype":"F32","shape":[3],"data_offsets":[16,28]}}"#, data: w + [0, 0, 0, 0]), "gap"),
                (rawSafetensors(header: good, data: w + b + [0]), "1 bytes after the last tensor"),
                (rawSafetensors(header: #"{"__metadata__":{"epoch":3}}"#, data: []), "metadata must map strings to strings"),
            ]
            for (bytes, message) in cases {
                do {
                    _ = try SafeTensors.parse(bytes, path: "bad.safetensors")
                    Issue.record("accepted a file that should fail with \(message)")
                } catch let e as SafeTensorsError {
                    #expect(e.description.contains(message), "\(e)")
                    #expect(e.description.hasPrefix("checkpoint bad.safetensors: "))
                }
            }
            #expect(throws: SafeTensorsError.self) { try SafeTensors.read(path: "/nonexistent/file.safetensors") }
        }

        /// Missing and unexpected names, shape and dtype problems and non-finite values are all
        /// listed at once, and a failed load changes nothing.
        @Test func strictLoadingListsEveryProblemAndLoadsNothing() throws {
            let net = try tinyLinear()
            let original = net.parameters.map(\.data)
            let data = handWrittenSafetensors([("0.weight", "F32", [2, 3], f32Bytes([1, 2, 3, 4, 5, 6])),
                                               ("0.extra", "F32", [1], f32Bytes([1])),
                                               ("1.weight", "U8", [2], [1, 2])])
            do {
                try net.loadState(from: SafeTensors.parse(data, path: "f"), path: "f")
                Issue.record("loaded a mismatching file")
            } catch let e as CheckpointMismatch {
                let text = e.description
                #expect(text.contains(#"Missing key(s) in the file (1): "0.bias""#), "\(text)")
                #expect(text.contains(#"Unexpected key(s) in the file (2): "0.extra", "1.weight""#), "\(text)")
                #expect(text.contains("size mismatch for 0.weight: the file has shape [2, 3], this network has [3, 2]"), "\(text)")
                #expect(text.contains("nothing was loaded"))
            }
            #expect(net.parameters.map(\.data) == original)

            let nan = handWrittenSafetensors([("0.weight", "F32", [3, 2], f32Bytes([1, .nan, 3, .infinity, 5, 6])),
                                              ("0.bias", "I32", [3], littleEndianBytes([Int32(1), 2, 3])),
                                              ("0.other", "F8_E4M3", [1], [0])])
            do {
                try net.loadState(from: SafeTensors.parse(nan, path: "g"), path: "g")
                Issue.record("loaded non-finite weights")
            } catch let e as CheckpointMismatch {
                #expect(e.description.contains("0.weight holds 2 non-finite values"), "\(e)")
                #expect(e.description.contains("Unexpected key(s) in the file (1): \"0.other\""), "\(e)")
            }
            #expect(net.parameters.map(\.data) == original)
        }

        /// Random truncations and bit flips of a real checkpoint: a clean error or a consistent
        /// load, never a crash or an absurd allocation.
        @Test func truncationsAndBitFlips() throws {
            Random.seed(3)
            let net = bnLeNet()
            _ = try GradMode.withoutGrad { try net(Tensor.zeros([2, 1, 28, 28])) }
            let valid = [UInt8](try net.safetensorsData(metadata: ["note": "fuzz"]))
            var g = SeededGenerator(seed: 17)
            var errors = 0, loads = 0
            for trial in 0..<400 {
                var bytes = valid
                if trial % 2 == 0 {
                    bytes = Array(bytes.prefix(Int(g.next() % UInt64(bytes.count))))
                } else {
                    // Flip bits, mostly in the length and header where the parser makes its decisions.
                    let region = trial % 4 == 1 ? Swift.min(bytes.count, 8 + 3200) : bytes.count
                    for _ in 0..<(1 + Int(g.next() % 3)) {
                        bytes[Int(g.next() % UInt64(region))] ^= UInt8(1 << (g.next() % 8))
                    }
                }
                do {
                    let file = try SafeTensors.parse(Data(bytes), path: "fuzz")
                    try net.loadState(from: file, path: "fuzz")
                    loads += 1
                    #expect(net.parameters.allSatisfy { $0.data.allSatisfy(\.isFinite) })
                } catch is SafeTensorsError {
                    errors += 1
                } catch is CheckpointMismatch {
                    errors += 1
                }
            }
            #expect(errors > 200 && loads > 0 && errors + loads == 400, "\(errors) errors, \(loads) loads")
        }

        /// A write that fails half-way leaves the previous file intact and no temporary file behind.
        @Test func interruptedSaveKeepsTheOldFile() throws {
            let dir = temporaryFolder("atomic")
            let path = dir + "/model.safetensors"
            let net = try tinyLinear()
            try net.saveSafetensors(to: path, metadata: ["epoch": "1"])
            #expect(try SafeTensors.readMetadata(path: path) == ["format": "pt", "epoch": "1"])   // header only
            let old = try Data(contentsOf: URL(fileURLWithPath: path))
            net.parameters[0].data[0] += 1
            let new = try net.safetensorsData()
            #expect(throws: AtomicWriteError.self) { try writeAtomically(new, to: path, failAfterBytes: new.count / 2) }
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == old)
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["model.safetensors"])
            try writeAtomically(new, to: path)
            #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == new)
            #expect(throws: AtomicWriteError.self) { try writeAtomically(new, to: dir + "/no/such/folder/x.safetensors") }
        }
    }

    /// A run stopped in the middle of an epoch and resumed from its checkpoint ends exactly where
    /// the uninterrupted run ends: same order of batches, same dropout masks, same numbers.
    @Suite struct ResumeTests {
        /// The identity, which raises the Ctrl-C flag on its `at`-th call in training mode.
        final class RaiseInterrupt: Module {
            let at: Int
            var calls = 0
            init(at: Int) { self.at = at }
            override func forward(_ x: consuming Tensor) throws -> Tensor {
                if isTraining { calls += 1; if calls == at { Interruption.signal = SIGINT } }
                return x
            }
        }

        func makeNet(seed: UInt64, interruptAt: Int) -> Sequential {
            Random.seed(seed)
            let net = Sequential(Flatten(), Linear(32), BatchNorm(), ReLU(), Dropout(0.3), Linear(10), RaiseInterrupt(at: interruptAt))
            net.initialize(.xavierUniform)
            return net
        }

        @Test func resumedRunMatchesTheUninterruptedOne() throws {
            let data = syntheticData(train: 300, test: 100)
            // 10 batches per epoch; the learning rate decays over the last 40% of the 30 steps,
            // so the stop (after step 14) and the resumed steps fall in both phases.
            let config = TrainConfig(epochs: 3, batchSize: 32, learningRate: 0.1, resize: 28, seed: 9, lrDecay: 0.4)

            let whole = Trainer(net: makeNet(seed: 4, interruptAt: .max), data: data, config: config)
            whole.quiet = true
            try whole.fit()

            let first = makeNet(seed: 4, interruptAt: 14)            // stops after batch 4 of epoch 2
            let stopped = Trainer(net: first, data: data, config: config)
            stopped.quiet = true
            do {
                try stopped.fit()
                Issue.record("the run was not interrupted")
            } catch let e as InterruptedError {
                #expect(e.epoch == 2 && e.batch == 4)
            }
            Interruption.signal = 0
            let saved = try first.safetensorsData(metadata: ["progress": stopped.progress.json])
            #expect(stopped.history.count == 1)

            // A fresh process: other initial weights and random streams, then the checkpoint.
            let file = try SafeTensors.parse(saved, path: "resume")
            let progress = try #require(TrainingProgress(json: file.metadata["progress"]!))
            #expect(progress.epoch == 2 && progress.batchesDone == 4 && progress.layerRandomStates.keys.contains("4"))
            let second = makeNet(seed: 99, interruptAt: .max)
            let resumed = Trainer(net: second, data: data, config: config)
            resumed.quiet = true
            try resumed.materialise()
            try second.loadState(from: file, path: "resume")
            try resumed.fit(resumeFrom: progress)

            #expect(resumed.history.count == 3)
            for (a, b) in zip(whole.history, resumed.history) {
                #expect(a.epoch == b.epoch && a.loss == b.loss && a.trainAcc == b.trainAcc && a.testAcc == b.testAcc, "\(a) vs \(b)")
                // Including the plot points the interrupted epoch had before the stop.
                #expect(a.trainPoints.count == 5 && a.trainPoints == b.trainPoints)
            }
            #expect(resumed.examples == whole.examples)
        }

        /// A resumed run's up-front estimate covers what is left, not the whole run.
        @Test func estimateCountsOnlyWhatIsLeft() {
            let config = TrainConfig(epochs: 2, batchSize: 32, learningRate: 0.1, resize: 28, seed: 1)
            #expect(TrainingConsole.estimateLine(imagesPerSecond: 100, batchCount: 3, config: config, trainImages: 300)
                    == "Measured 100 img/s over batches 2–4: 2 epochs of 300 images need about 6 s of training, plus test evaluation.")
            #expect(TrainingConsole.estimateLine(imagesPerSecond: 100, batchCount: 3, config: config, trainImages: 300, alreadyTrained: 450)
                    == "Measured 100 img/s over batches 2–4: the remaining 150 images of 2 epochs of 300 images need about 2 s of training, plus test evaluation.")
        }

        @Test func damagedProgressIsRejected() {
            #expect(TrainingProgress(json: "{}") == nil)
            #expect(TrainingProgress(json: "not json") == nil)
            var p = TrainingProgress()
            p.shuffleState = ["1", "2", "3", "4"]; p.randomState = ["0", "0", "0", "0"]   // all-zero: forbidden state
            #expect(TrainingProgress(json: p.json) == nil)
            p.randomState = ["5", "6", "7", "8"]
            #expect(TrainingProgress(json: p.json) == p)
            p.epoch = 3                                                                   // but no history
            #expect(TrainingProgress(json: p.json) == nil)
        }
    }
}
