import D2L
import Foundation
import Testing

@Suite(.serialized) struct BatchNormChapterTests {
    let chapter = "Chapter7_5_BatchNorm"

    @Test func summaryOnlyNeedsNoData() throws {
        let r = try ChapterRunner.run(chapter, ["--summary-only", "--data-dir", "/nonexistent"])
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stdout.contains("Conv2d output shape:\t[1, 6, 24, 24]"))
        #expect(r.stdout.contains("BatchNorm output shape:\t[1, 120]"))
        #expect(r.stdout.contains("44,878 trainable parameters, of which 452 are γ and β"))
        #expect(!r.stdout.contains("epoch"))
    }

    @Test func helpListsTheSharedFlags() throws {
        let r = try ChapterRunner.run(chapter, ["--help"])
        #expect(r.status == 0)
        for flag in ["--full", "--epochs", "--batch-size", "--lr", "--resize", "--train-limit", "--test-limit",
                     "--seed", "--threads", "--data-dir", "--out-dir", "--summary-only", "--save", "--load", "--eval-only", "--resume"] {
            #expect(r.stdout.contains(flag), "\(flag) missing from --help")
        }
    }

    @Test(arguments: [
        (["--epochs", "0"], "--epochs must be a positive whole number"),
        (["--batch-size=-3"], "--batch-size must be a positive whole number"),
        (["--lr", "nan"], "--lr must be a positive finite number"),
        (["--lr", "0"], "--lr must be a positive finite number"),
        (["--threads", "0"], "--threads must be a positive whole number"),
        (["--lr-warmup", "1.5"], "--lr-warmup must be a fraction of the steps between 0 and 1"),
        (["--lr-warmup", "0.6", "--lr-decay", "0.5"], "together cover more than all the steps"),
        (["--bogus"], "Unknown option '--bogus'"),
        (["--epochs", "two"], "The value 'two' is invalid for '--epochs"),
        (["--eval-only"], "--eval-only needs the weights to evaluate: add --load PATH"),
        (["--load", "a.safetensors", "--resume", "b.safetensors"], "--load and --resume exclude each other"),
        (["--resume", "m.safetensors", "--lr", "0.1", "--full"], "drop --full, --lr"),
        (["--resume", "/nonexistent/model.safetensors"], "none of this chapter's checkpoint files exist (/nonexistent/model-scratch.safetensors, /nonexistent/model-concise.safetensors"),
        (["--load", "/nonexistent/model.safetensors"], "--load: none of this chapter's checkpoint files exist"),
    ])
    func badFlagsAreRejectedBeforeAnyWork(arguments: [String], message: String) throws {
        let out = ChapterRunner.temporaryFolder("flags")
        let r = try ChapterRunner.run(chapter, arguments + ["--out-dir", out])
        #expect(r.status != 0)
        #expect(r.stderr.contains(message), "\(r.all)")
        #expect(!FileManager.default.fileExists(atPath: out), "an out dir was created for a rejected command")
    }

    @Test func missingDataNamesFilesAndFix() throws {
        let out = ChapterRunner.temporaryFolder("nodata")
        let r = try ChapterRunner.run(chapter, ["--data-dir", "/nonexistent-data", "--out-dir", out, "--epochs", "1"])
        #expect(r.status != 0)
        for needle in ["Fashion-MNIST not found", "train-images-idx3-ubyte", "/nonexistent-data",
                       "apt-get install dataset-fashion-mnist", "--data-dir"] {
            #expect(r.all.contains(needle), "\(needle) missing: \(r.all)")
        }
        #expect(!r.all.contains("Fatal error"))
        #expect(!FileManager.default.fileExists(atPath: out), "the out dir was left behind")
    }

    /// A truncated data file and a truncated checkpoint are each named as damaged; nothing is left behind.
    @Test func damagedFilesAreNamed() throws {
        let data = ChapterRunner.temporaryFolder("damaged-data")
        try FileManager.default.createDirectory(atPath: data, withIntermediateDirectories: true)
        let system = "/usr/share/datasets/fashion-mnist/"
        for file in ["train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz", "t10k-labels-idx1-ubyte.gz"] {
            try FileManager.default.copyItem(atPath: system + file, toPath: data + "/" + file)
        }
        let images = try Data(contentsOf: URL(fileURLWithPath: system + "t10k-images-idx3-ubyte.gz"))
        try images.prefix(100_000).write(to: URL(fileURLWithPath: data + "/t10k-images-idx3-ubyte.gz"))
        let out = ChapterRunner.temporaryFolder("damaged-out")
        let r = try ChapterRunner.run(chapter, ["--data-dir", data, "--out-dir", out])
        #expect(r.status != 0)
        #expect(r.stderr.contains("\(data)/t10k-images-idx3-ubyte.gz is damaged"), "\(r.all)")
        #expect(!FileManager.default.fileExists(atPath: out), "the out dir was left behind")

        let checkpoint = data + "/model-scratch.safetensors"
        try Data([8, 0, 0, 0, 0, 0, 0, 0, 123, 34]).write(to: URL(fileURLWithPath: checkpoint))
        let c = try ChapterRunner.run(chapter, ["--load", data + "/model.safetensors", "--eval-only", "--test-limit", "10", "--out-dir", out])
        #expect(c.status != 0)
        #expect(c.stderr.contains("checkpoint \(checkpoint): declares a 8-byte header but the file has only 2 bytes"), "\(c.all)")
        #expect(!c.all.contains("Fatal error"))
        #expect(!FileManager.default.fileExists(atPath: out), "the out dir was left behind")
    }

    /// A learning rate that makes the loss run away (finite, but billions) stops the run as
    /// diverged; --no-divergence-check lets it train on.
    @Test func runawayLossStopsTheRun() throws {
        let out = ChapterRunner.temporaryFolder("runaway")
        let common = ["--lr", "1e9", "--epochs", "1", "--train-limit", "4096", "--test-limit", "300"]
        let r = try ChapterRunner.run(chapter, common + ["--out-dir", out])
        #expect(r.status == 1, "\(r.all)")
        #expect(r.stderr.contains("training diverged: the loss stayed above 6.91 (3 × ln 10, the loss of a uniform guess) for 10 batches in a row"), "\(r.all)")
        #expect(r.stderr.contains("in epoch 1, batch") && r.stderr.contains("Try a smaller --lr (e.g. 1e+08)"), "\(r.all)")
        let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/metrics.json"))) as! [String: Any]
        #expect(metrics["status"] as? String == "diverged")
        #expect(try String(contentsOfFile: out + "/report.html", encoding: .utf8).contains("status: diverged"))
        let on = try ChapterRunner.run(chapter, common + ["--no-divergence-check", "--out-dir", out + "-on"])
        #expect(on.status == 0, "\(on.all)")
        #expect(on.stdout.contains("no stop for a runaway loss"))
    }

    /// Exercise 7.5.1: a bias before batch norm cancels, and gets no gradient.
    @Test func biasBeforeBatchNormExercise() throws {
        let out = ChapterRunner.temporaryFolder("exercise-bias")
        let r = try ChapterRunner.run(chapter, ["--exercise", "1", "--out-dir", out])
        #expect(r.status == 0, "\(r.all)")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/exercise-1.json"))) as! [String: Any]
        #expect(json["layers_before_bn"] as? Double == 4)
        #expect((json["max_logit_change"] as! Double) < 1e-4 && (json["max_bias_gradient"] as! Double) < 1e-5)
        #expect((json["mean_other_gradient"] as! Double) > 1e-4)
    }

    /// Exercise 7.5.2 on a tiny budget: both networks at every rate of the sweep, same seed.
    @Test func learningRateSweepExercise() throws {
        let out = ChapterRunner.temporaryFolder("exercise-lr")
        let r = try ChapterRunner.run(chapter, ["--exercise", "2", "--epochs", "1", "--train-limit", "4096", "--test-limit", "200",
                                                 "--out-dir", out])
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stdout.contains("Each run: 1 epoch of 4,096 images, batch 256, test on 200; 9 learning rates × 2 networks"), "\(r.stdout)")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/exercise-2.json"))) as! [String: Any]
        let runs = json["runs"] as! [[String: Any]]
        #expect(runs.count == 18 && Set(runs.map { $0["network"] as! String }) == ["with BN", "without BN"])
        // lr 100 makes both run away within the 16 batches, and the watch stops them.
        #expect(runs.filter { ($0["lr"] as! Double) == 100 }.allSatisfy { $0["test_acc"] is NSNull })
        #expect(json["largest_working_lr"] != nil)
        #expect(try readPNG(path: out + "/exercise-2.png").width == 640)
    }

    @Test func unwritableOutputFolderIsRefused() throws {
        let r = try ChapterRunner.run(chapter, ["--out-dir", "/proc/modern-cnns", "--epochs", "1"])
        #expect(r.status != 0)
        #expect(r.all.contains("output folder /proc/modern-cnns"), "\(r.all)")
        #expect(!r.all.contains("epoch 1"))
    }

    /// The whole chapter on a real-data subset: it learns, reports, compares and draws.
    @Test func endToEndOnASubset() throws {
        let out = ChapterRunner.temporaryFolder("e2e")
        let r = try ChapterRunner.run(chapter, ["--epochs", "2", "--train-limit", "6000", "--test-limit", "2000",
                                                 "--batch-size", "128", "--out-dir", out, "--seed", "1"])
        #expect(r.status == 0, "\(r.all)")
        // The book's result lines, once per network.
        let results = r.stdout.split(separator: "\n").filter { $0.hasPrefix("loss ") && $0.contains("test acc") }
        #expect(results.count == 2, "\(r.stdout)")
        for line in results {
            let testAcc = Double(line.split(separator: " ").last!)!
            #expect(testAcc > 0.6, "\(line)")     // chance is 0.1
        }
        #expect(r.stdout.split(separator: "\n").filter { $0.hasSuffix("examples/sec on cpu") }.count == 2)
        #expect(r.stdout.contains("Differs from the book: 2 epochs instead of 10; batch size 128 instead of 256"))
        #expect(r.stdout.contains("All comparable quantities agree"))

        let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/metrics.json"))) as! [String: Any]
        #expect(metrics["status"] as? String == "finished")
        let results2 = metrics["results"] as! [String: Any]
        let cmp = results2["bn_compare"] as! [String: Double]
        #expect(cmp["max_comparable"]! <= 1e-5)
        #expect((metrics["epochs"] as! [[String: Any]]).count == 2)
        #expect(metrics["examples_per_sec"] as! Double > 0)
        let pictures = ["activations.png", "confusion-matrix.png", "feature-maps.png", "filters.png", "inputs.png",
                        "mistakes.png", "saliency.png", "training-curves.png"]
        for png in pictures {
            let image = try readPNG(path: out + "/" + png)
            #expect(image.width > 100 && image.height > 100, "\(png)")
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        #expect(files == (pictures + ["metrics.json", "model-concise.safetensors", "model-scratch.safetensors", "report.html"]).sorted())
        // The confusion matrix in metrics.json counts every test image, and its diagonal is the test accuracy.
        let confusion = (results2["confusion_matrix"] as! [String: Any])["counts"] as! [[Double]]
        #expect(confusion.joined().reduce(0, +) == 2000)
        let diagonal = (0..<10).map { confusion[$0][$0] }.reduce(0, +) / 2000
        #expect(Swift.abs(diagonal - Double(results.last!.split(separator: " ").last!)!) < 1e-3)
        // The report shows every picture and every result line.
        let report = try String(contentsOfFile: out + "/report.html", encoding: .utf8)
        for png in pictures { #expect(report.contains("<img src=\"\(png)\""), "\(png)") }
        for line in results { #expect(report.contains(String(line)), "\(line)") }
        #expect(report.contains("<h2>7.5.5 Concise implementation</h2>") && report.contains("status: finished"))

        // The saved weights evaluate to the same test accuracy, and draw their filters.
        let again = ChapterRunner.temporaryFolder("e2e-eval")
        let e = try ChapterRunner.run(chapter, ["--load", out + "/model.safetensors", "--eval-only", "--test-limit", "2000",
                                                 "--out-dir", again])
        #expect(e.status == 0, "\(e.all)")
        let evaluated = e.stdout.split(separator: "\n").filter { $0.hasPrefix("test acc ") }
            .map { Double($0.split(separator: " ")[2])! }
        #expect(evaluated == results.map { Double($0.split(separator: " ").last!)! }, "\(e.stdout)")
        #expect(e.stdout.contains("Loaded 26 tensors (45,330 values) from \(out)/model-scratch.safetensors"))
        #expect(!e.stdout.contains("epoch 1/"))
        #expect(try FileManager.default.contentsOfDirectory(atPath: again).sorted()
                == (pictures.filter { $0 != "training-curves.png" } + ["metrics.json", "report.html"]).sorted())
        #expect(try readPNG(path: again + "/filters.png").rgb == readPNG(path: out + "/filters.png").rgb)
        #expect(try String(contentsOfFile: again + "/report.html", encoding: .utf8).contains("status: evaluated"))

        // One file of one network (the concise LeNet, as a PyTorch user would save it) evaluates
        // that network and says the other is not in it.
        let single = ChapterRunner.temporaryFolder("e2e-single")
        try FileManager.default.createDirectory(atPath: single, withIntermediateDirectories: true)
        try FileManager.default.copyItem(atPath: out + "/model-concise.safetensors", toPath: single + "/lenet.safetensors")
        let s = try ChapterRunner.run(chapter, ["--load", single + "/lenet.safetensors", "--eval-only", "--test-limit", "2000",
                                                 "--out-dir", single + "/out"])
        #expect(s.status == 0, "\(s.all)")
        #expect(s.stdout.contains("does not hold the scratch network's weights") && s.stdout.contains("the scratch network is not evaluated"), "\(s.stdout)")
        let singleEvaluated = s.stdout.split(separator: "\n").filter { $0.hasPrefix("test acc ") }
        #expect(singleEvaluated.count == 1 && singleEvaluated[0].hasPrefix("test acc \(results.last!.split(separator: " ").last!)"), "\(s.stdout)")
        #expect(!s.stdout.contains("γ and β of the first batch-norm layer"))
        // A file of neither network is refused with the full list of mismatches.
        let resnet = try ChapterRunner.run("Chapter7_6_ResNet", ["--epochs", "1", "--train-limit", "64", "--test-limit", "64",
                                                                  "--out-dir", single + "/resnet"])
        #expect(resnet.status == 0, "\(resnet.all)")
        let neither = try ChapterRunner.run(chapter, ["--load", single + "/resnet/model.safetensors", "--eval-only", "--test-limit", "100",
                                                       "--out-dir", single + "/neither"])
        #expect(neither.status != 0 && neither.stderr.contains("does not fit this network; nothing was loaded"), "\(neither.all)")

        // Another chapter refuses to resume this chapter's run, and cannot load its weights.
        let other = try ChapterRunner.run("Chapter7_6_ResNet", ["--resume", out + "/model-concise.safetensors", "--out-dir", again])
        #expect(other.status != 0 && other.stderr.contains("is a checkpoint of Chapter7_5_BatchNorm, not Chapter7_6_ResNet"), "\(other.all)")
        let mismatch = try ChapterRunner.run("Chapter7_6_ResNet", ["--load", out + "/model-concise.safetensors", "--eval-only",
                                                                   "--train-limit", "100", "--test-limit", "100", "--out-dir", again])
        #expect(mismatch.status != 0)
        for needle in ["does not fit this network; nothing was loaded", "Missing key(s) in the file (127)", "\"1.0.conv1.weight\"",
                       "Unexpected key(s) in the file (30)", "\"13.running_var\"", "No name in the file matches this network"] {
            #expect(mismatch.stderr.contains(needle), "\(needle): \(mismatch.all)")
        }
    }
}

/// Ctrl-C during training stops after the current batch, keeps what was written, exits 130.
@Suite(.serialized) struct InterruptionTests {
    @Test(arguments: [(SIGINT, Int32(130)), (SIGTERM, Int32(143))])
    func signalStopsCleanly(signal: Int32, status: Int32) throws {
        let out = ChapterRunner.temporaryFolder("interrupt-\(signal)")
        let process = Process()
        process.executableURL = ChapterRunner.productsDirectory.appendingPathComponent("Chapter7_5_BatchNorm")
        process.arguments = ["--epochs", "50", "--train-limit", "5000", "--test-limit", "1000", "--out-dir", out]
        let errPath = out + ".err"
        #expect(FileManager.default.createFile(atPath: errPath, contents: nil), "could not create a test file")
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle(forWritingAtPath: errPath)
        try process.run()
        // Wait for the first finished epoch (metrics.json appears), then signal.
        let deadline = Date().addingTimeInterval(120)
        while !FileManager.default.fileExists(atPath: out + "/metrics.json") && Date() < deadline && process.isRunning {
            Thread.sleep(forTimeInterval: 0.2)
        }
        kill(process.processIdentifier, signal)
        process.waitUntilExit()
        let stderr = String(decoding: FileManager.default.contents(atPath: errPath) ?? Data(), as: UTF8.self)
        #expect(process.terminationStatus == status, "\(stderr)")
        #expect(stderr.contains("interrupted"), "\(stderr)")
        let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/metrics.json"))) as! [String: Any]
        #expect(metrics["status"] as? String == "interrupted")
        #expect((metrics["epochs"] as! [[String: Any]]).count >= 1)
        #expect(FileManager.default.fileExists(atPath: out + "/training-curves.png"))
        let leftovers = try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.contains(".tmp") }
        #expect(leftovers.isEmpty)
        // The weights after the last completed batch are saved, and the run continues from them.
        #expect(stderr.contains("the weights after that batch are in \(out)/model-scratch.safetensors"), "\(stderr)")
        #expect(stderr.contains("Continue with --resume \(out)/model.safetensors"))
        let finished = (metrics["epochs"] as! [[String: Any]]).count
        let r = try ChapterRunner.run("Chapter7_5_BatchNorm", ["--resume", out + "/model.safetensors", "--epochs", "\(finished + 1)",
                                                                "--out-dir", out])
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stdout.contains("Resuming from \(out)/model-scratch.safetensors: \(finished) finished epoch"), "\(r.stdout)")
        #expect(r.stdout.contains("scratch epoch \(finished + 1)/\(finished + 1)"))
        #expect(!r.stdout.contains("scratch epoch 1/"))
        #expect(r.stdout.contains("No checkpoint \(out)/model-concise.safetensors yet"))
        let resumed = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/metrics.json"))) as! [String: Any]
        #expect(resumed["status"] as? String == "finished")
        let history = (resumed["results"] as! [String: Any])["history_scratch"] as! [[String: Any]]
        #expect(history.map { $0["epoch"] as! Int } == Array(1...(finished + 1)))
    }
}

/// One writer per output folder: a second run into a folder a live run is writing is refused
/// with that run's pid and command; the lock goes with the process, however it ends.
@Suite(.serialized) struct OutputFolderLockTests {
    let chapter = "Chapter7_5_BatchNorm"

    @Test func aSecondWriterIsRefused() throws {
        let out = ChapterRunner.temporaryFolder("locked")
        let first = Process()
        first.executableURL = ChapterRunner.productsDirectory.appendingPathComponent(chapter)
        first.arguments = ["--epochs", "30", "--train-limit", "20000", "--test-limit", "100", "--out-dir", out]
        first.standardOutput = FileHandle.nullDevice
        first.standardError = FileHandle.nullDevice
        try first.run()
        // Wait until the first run has written something (it holds the lock from before that).
        for _ in 0..<200 where !FileManager.default.fileExists(atPath: out + "/inputs.png")
            && (try? FileManager.default.contentsOfDirectory(atPath: out))?.isEmpty != false { usleep(50_000) }
        let second = try ChapterRunner.run(chapter, ["--epochs", "1", "--train-limit", "256", "--test-limit", "100", "--out-dir", out])
        #expect(second.status != 0)
        #expect(second.stderr.contains("output folder \(out): another run is writing into it (pid \(first.processIdentifier): "), "\(second.all)")
        #expect(second.stderr.contains("\(chapter) --epochs 30 --train-limit 20000"), "\(second.all)")
        // A kill releases the lock: the next run goes ahead.
        kill(first.processIdentifier, SIGKILL)
        first.waitUntilExit()
        let third = try ChapterRunner.run(chapter, ["--epochs", "1", "--train-limit", "256", "--test-limit", "100", "--out-dir", out])
        #expect(third.status == 0, "\(third.all)")
    }
}

/// Full disks and kills: a write that fails leaves the previous version of the file intact and
/// stops the run with the path and the system's reason; a run killed at any moment leaves a
/// checkpoint that --resume continues to the same numbers as a run that was never stopped.
@Suite(.serialized) struct FailureTests {
    let chapter = "Chapter7_5_BatchNorm"
    let tiny = ["--train-limit", "1024", "--test-limit", "200", "--batch-size", "128"]

    /// A file-size limit (RLIMIT_FSIZE, through prlimit) below a checkpoint's size.
    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/prlimit"), "prlimit (util-linux) is not installed"))
    func aFailedWriteKeepsThePreviousVersion() throws {
        let out = ChapterRunner.temporaryFolder("fsize")
        let first = try ChapterRunner.run(chapter, tiny + ["--epochs", "1", "--out-dir", out])
        #expect(first.status == 0, "\(first.all)")
        let checkpoint = out + "/model-scratch.safetensors"
        let before = try Data(contentsOf: URL(fileURLWithPath: checkpoint))
        let metricsBefore = try Data(contentsOf: URL(fileURLWithPath: out + "/metrics.json"))
        let limited = try ChapterRunner.run("/usr/bin/prlimit", ["--fsize=100000",
            ChapterRunner.productsDirectory.appendingPathComponent(chapter).path, "--resume", out + "/model.safetensors", "--epochs", "2",
            "--out-dir", out])
        #expect(limited.status != 0)
        #expect(limited.stderr.contains("cannot write \(checkpoint): File too large (any previous version of the file is intact)"), "\(limited.all)")
        #expect(try Data(contentsOf: URL(fileURLWithPath: checkpoint)) == before)
        // metrics.json is the previous complete version or a newer complete one, never a torn one.
        let metrics = try Data(contentsOf: URL(fileURLWithPath: out + "/metrics.json"))
        #expect(metrics == metricsBefore || (try? JSONSerialization.jsonObject(with: metrics)) != nil)
        #expect(try FileManager.default.contentsOfDirectory(atPath: out).filter { $0.contains(".tmp-") }.isEmpty)
    }

    /// Thirty SIGKILLs at random moments of a run that resumes after each; then the result lines
    /// equal an uninterrupted run's.
    @Test func killedAtRandomMomentsAndResumedMatchesTheUninterruptedRun() throws {
        let settings = tiny + ["--epochs", "24", "--seed", "3"]
        let whole = try ChapterRunner.run(chapter, settings + ["--out-dir", ChapterRunner.temporaryFolder("kills-whole")])
        #expect(whole.status == 0, "\(whole.all)")
        func results(_ text: String) -> [String] { text.split(separator: "\n").filter { $0.hasPrefix("loss ") }.map(String.init) }

        let out = ChapterRunner.temporaryFolder("kills")
        var g = SeededGenerator(seed: 77)
        var kills = 0, duringWrite = 0, finished: ChapterRunner.Result?
        while finished == nil && kills < 200 {
            let resuming = FileManager.default.fileExists(atPath: out + "/model-concise.safetensors")
                || FileManager.default.fileExists(atPath: out + "/model-scratch.safetensors")
            let arguments = resuming ? ["--resume", out + "/model.safetensors", "--out-dir", out] : settings + ["--out-dir", out]
            if kills >= 30 {
                finished = try ChapterRunner.run(chapter, arguments)
                break
            }
            let p = Process()
            p.executableURL = ChapterRunner.productsDirectory.appendingPathComponent(chapter)
            p.arguments = arguments
            p.standardOutput = FileHandle.nullDevice
            p.standardError = FileHandle.nullDevice
            try p.run()
            usleep(UInt32(300_000 + g.next() % 1_500_000))
            let partial = (try? FileManager.default.contentsOfDirectory(atPath: out))?.contains { $0.contains(".tmp-\(p.processIdentifier)") } ?? false
            kill(p.processIdentifier, SIGKILL)
            p.waitUntilExit()
            if p.terminationReason == .uncaughtSignal {
                kills += 1
                if partial { duringWrite += 1 }
            } else {
                #expect(p.terminationStatus == 0, "a run between kills failed")
            }
        }
        #expect(kills == 30)
        let last = try #require(finished)
        #expect(last.status == 0, "\(last.all)")
        #expect(results(last.stdout) == results(whole.stdout), "\(last.stdout)")
        print("killed \(kills) times, \(duringWrite) of them while a file was being written")
    }
}
