import D2L
import Foundation
import Testing

/// Chapters 7.6 and 7.7 run as a learner would: printouts, then a short real-data run.
@Suite(.serialized) struct ResNetDenseNetChapterTests {
    @Test func resNetSummaryMatchesTheBook() throws {
        let r = try ChapterRunner.run("Chapter7_6_ResNet", ["--summary-only"])
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stdout.contains("Residual(3) on X of shape [4, 3, 6, 6] gives [4, 3, 6, 6]"))
        #expect(r.stdout.contains("Residual(6, use1x1Conv: true, strides: 2) on the same X gives [4, 6, 3, 3]"))
        #expect(r.stdout.contains("""
        Sequential output shape:\t[1, 64, 56, 56]
        Sequential output shape:\t[1, 64, 56, 56]
        Sequential output shape:\t[1, 128, 28, 28]
        Sequential output shape:\t[1, 256, 14, 14]
        Sequential output shape:\t[1, 512, 7, 7]
        AdaptiveAvgPool2d output shape:\t[1, 512, 1, 1]
        Flatten output shape:\t[1, 512]
        Linear output shape:\t[1, 10]
        """))
        #expect(r.stdout.contains("11,178,378 parameters"))
    }

    @Test func denseNetSummary() throws {
        let r = try ChapterRunner.run("Chapter7_7_DenseNet", ["--summary-only", "--full"])
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stdout.contains("on X of shape [4, 3, 8, 8] gives [4, 23, 8, 8]"))
        #expect(r.stdout.contains("transitionBlock(10) on that gives [4, 10, 4, 4]"))
        #expect(r.stdout.contains("DenseBlock output shape:\t[1, 248, 3, 3]"))
        #expect(r.stdout.contains("758,226 parameters"))
    }

    @Test(arguments: [("Chapter7_7_DenseNet", "20", "29×29"), ("Chapter7_5_BatchNorm", "12", "16×16")])
    func tooSmallResizeNamesTheMinimum(chapter: String, resize: String, minimum: String) throws {
        let out = ChapterRunner.temporaryFolder("resize-\(chapter)")
        let r = try ChapterRunner.run(chapter, ["--resize", resize, "--out-dir", out])
        #expect(r.status != 0)
        #expect(r.stderr.contains("--resize \(resize) is too small"), "\(r.all)")
        #expect(r.stderr.contains("the smallest it accepts is \(minimum)"), "\(r.all)")
        #expect(!FileManager.default.fileExists(atPath: out), "the out dir was left behind")
        #expect(!r.stdout.contains("Fashion-MNIST from"))     // stopped before loading data
    }

    @Test(arguments: ["Chapter7_6_ResNet", "Chapter7_7_DenseNet"])
    func endToEndOnASubset(chapter: String) throws {
        let out = ChapterRunner.temporaryFolder("e2e-\(chapter)")
        let r = try ChapterRunner.run(chapter, ["--train-limit", "3000", "--test-limit", "1000", "--batch-size", "64",
                                                "--lr-warmup", "0.1", "--out-dir", out])
        #expect(r.status == 0, "\(r.all)")
        let result = r.stdout.split(separator: "\n").first { $0.hasPrefix("loss ") && $0.contains("test acc") }
        let testAcc = result.flatMap { Double($0.split(separator: " ").last!) } ?? 0
        #expect(testAcc > 0.4, "\(r.stdout)")      // chance is 0.1
        #expect(r.stdout.contains("Differs from the book: "))
        #expect(r.stdout.contains("batch size 64 instead of 256; "))
        #expect(r.stdout.contains("the learning rate rising linearly from 0 over the first 10% of the steps (a warm-up)"))
        #expect(r.stdout.contains("the learning rate falling linearly to 0 over the last 50% of the steps instead of staying constant"))
        #expect(r.stdout.contains("the first 3,000 of 60,000 training images; the first 1,000 of 10,000 test images"))
        #expect(r.stdout.contains("examples/sec on cpu"))
        let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/metrics.json"))) as! [String: Any]
        #expect(metrics["status"] as? String == "finished")
        let filters = try readPNG(path: out + "/filters.png")
        #expect(filters.width > 600)          // 64 tiles of 7×7 scaled up
        for png in ["feature-maps.png", "training-curves.png"] {
            let image = try readPNG(path: out + "/" + png)
            #expect(image.width > 100 && image.height > 100, "\(png)")
        }

        // The finished run trains one epoch more from its checkpoint, with its own settings.
        let more = try ChapterRunner.run(chapter, ["--resume", out + "/model.safetensors", "--epochs", "3", "--out-dir", out])
        #expect(more.status == 0, "\(more.all)")
        #expect(more.stdout.contains("Resuming from \(out)/model.safetensors: 2 finished epochs."), "\(more.stdout)")
        #expect(more.stdout.contains("epoch 3/3: ") && !more.stdout.contains("epoch 1/3"), "\(more.stdout)")
        #expect(more.stdout.contains("the first 3,000 of 60,000 training images"))
        let resumed = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/metrics.json"))) as! [String: Any]
        #expect((resumed["epochs"] as! [[String: Any]]).map { $0["epoch"] as! Int } == [1, 2, 3])
        #expect((resumed["settings"] as? [String: Any])?["lr_decay"] as? Double == 0.5, "the schedule comes back from the checkpoint")
        #expect((resumed["settings"] as? [String: Any])?["lr_warmup"] as? Double == 0.1, "and so does its warm-up")
    }
}
