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
                     "--seed", "--threads", "--data-dir", "--out-dir", "--summary-only"] {
            #expect(r.stdout.contains(flag), "\(flag) missing from --help")
        }
    }

    @Test(arguments: [
        (["--epochs", "0"], "--epochs must be a positive whole number"),
        (["--batch-size=-3"], "--batch-size must be a positive whole number"),
        (["--lr", "nan"], "--lr must be a positive finite number"),
        (["--lr", "0"], "--lr must be a positive finite number"),
        (["--threads", "0"], "--threads must be a positive whole number"),
        (["--bogus"], "Unknown option '--bogus'"),
        (["--epochs", "two"], "The value 'two' is invalid for '--epochs"),
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
        let left = (try? FileManager.default.contentsOfDirectory(atPath: out)) ?? []
        #expect(left.isEmpty, "files left behind: \(left)")
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
        for png in ["filters.png", "feature-maps.png", "training-curves.png"] {
            let image = try readPNG(path: out + "/" + png)
            #expect(image.width > 100 && image.height > 100, "\(png)")
        }
        let files = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        #expect(files == ["feature-maps.png", "filters.png", "metrics.json", "training-curves.png"])
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
        FileManager.default.createFile(atPath: errPath, contents: nil)
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
    }
}
