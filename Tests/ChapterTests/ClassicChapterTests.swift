import D2L
import Foundation
import Testing

/// Chapters 7.1–7.4 run as a learner would: the book's printouts, then a few seconds of real data.
@Suite(.serialized) struct ClassicChapterTests {
    @Test func alexNetSummary() throws {
        let r = try ChapterRunner.run("Chapter7_1_AlexNet", ["--summary-only"])
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stdout.contains("""
        Conv2d output shape:\t[1, 96, 54, 54]
        ReLU output shape:\t[1, 96, 54, 54]
        MaxPool2d output shape:\t[1, 96, 26, 26]
        """))
        #expect(r.stdout.contains("MaxPool2d output shape:\t[1, 256, 5, 5]\nFlatten output shape:\t[1, 6400]"))
        #expect(r.stdout.contains("46,764,746 parameters at 224×224"))
    }

    @Test func vggSummary() throws {
        let r = try ChapterRunner.run("Chapter7_2_VGG", ["--summary-only", "--full"])
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stdout.contains("vggBlock(convs: 2, channels: 128) on X of shape [1, 64, 56, 56] gives [1, 128, 28, 28]"))
        #expect(r.stdout.contains("Sequential output shape:\t[1, 512, 7, 7]\nFlatten output shape:\t[1, 25088]"))
        #expect(r.stdout.contains("Sequential output shape:\t[1, 128, 7, 7]\nFlatten output shape:\t[1, 6272]"))
        #expect(r.stdout.contains("128,806,154 parameters"))
        #expect(r.stdout.contains("43,093,322 parameters"))
    }

    @Test func ninSummary() throws {
        let r = try ChapterRunner.run("Chapter7_3_NiN", ["--summary-only", "--full"])
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stdout.contains("gives [1, 96, 54, 54]"))
        #expect(r.stdout.contains("Sequential output shape:\t[1, 10, 5, 5]\nAdaptiveAvgPool2d output shape:\t[1, 10, 1, 1]\nFlatten output shape:\t[1, 10]"))
        #expect(r.stdout.contains("1,992,166 parameters"))
    }

    @Test func googLeNetSummary() throws {
        let r = try ChapterRunner.run("Chapter7_4_GoogLeNet", ["--summary-only"])
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stdout.contains("Inception(64, (96, 128), (16, 32), 32) on X of shape [1, 192, 12, 12] gives [1, 256, 12, 12]"))
        #expect(r.stdout.contains("""
        Sequential output shape:\t[1, 64, 24, 24]
        Sequential output shape:\t[1, 192, 12, 12]
        Sequential output shape:\t[1, 480, 6, 6]
        Sequential output shape:\t[1, 832, 3, 3]
        Sequential output shape:\t[1, 1024]
        Linear output shape:\t[1, 10]
        """))
        #expect(r.stdout.contains("5,977,530 parameters"))
    }

    @Test(arguments: [("Chapter7_1_AlexNet", "40", "65×65"), ("Chapter7_2_VGG", "31", "32×32"), ("Chapter7_3_NiN", "50", "67×67")])
    func tooSmallResizeNamesTheMinimum(chapter: String, resize: String, minimum: String) throws {
        let out = ChapterRunner.temporaryFolder("resize-\(chapter)")
        let r = try ChapterRunner.run(chapter, ["--resize", resize, "--out-dir", out])
        #expect(r.status != 0)
        #expect(r.stderr.contains("the smallest it accepts is \(minimum)"), "\(r.all)")
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    /// A batch that cannot fit in memory is refused before any work, with the estimate and a batch size that fits.
    @Test func batchTooLargeForMemory() throws {
        let out = ChapterRunner.temporaryFolder("memory")
        let r = try ChapterRunner.run("Chapter7_1_AlexNet", ["--batch-size", "5000000", "--resize", "224", "--out-dir", out])
        #expect(r.status != 0)
        #expect(r.stderr.contains("with --batch-size 5000000 needs about"), "\(r.all)")
        #expect(r.stderr.contains("A batch size of at most"), "\(r.all)")
        #expect(!r.stdout.contains("Fashion-MNIST from"))
        #expect(!FileManager.default.fileExists(atPath: out))
    }

    /// A learning rate far too large: the first non-finite loss stops the run with the epoch,
    /// batch and a smaller rate to try; metrics.json says "diverged"; no weights are saved.
    @Test func divergenceStopsWithAMessage() throws {
        let out = ChapterRunner.temporaryFolder("diverge")
        let r = try ChapterRunner.run("Chapter7_2_VGG", ["--resize", "32", "--lr", "50", "--train-limit", "640", "--test-limit", "100",
                                                          "--batch-size", "64", "--epochs", "3", "--out-dir", out])
        #expect(r.status == 1, "\(r.all)")
        #expect(r.stderr.contains("training diverged: loss became"), "\(r.all)")
        #expect(r.stderr.contains("in epoch 1, batch") && r.stderr.contains("at learning rate 50.0. Try a smaller --lr (e.g. 5.0)"), "\(r.all)")
        let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/metrics.json"))) as! [String: Any]
        #expect(metrics["status"] as? String == "diverged")
        let files = try FileManager.default.contentsOfDirectory(atPath: out).sorted()
        #expect(files == ["metrics.json", "report.html"], "\(files)")
        // The report of the stopped run says how it ended.
        let report = try String(contentsOfFile: out + "/report.html", encoding: .utf8)
        #expect(report.contains("status: diverged") && report.contains("The run stopped: training diverged"), "\(report)")
    }

    /// NiN checks its initialisation before training: with seed 2 at 67×67 every ReLU of the
    /// last block's first layer is off for all of the first training images (so the loss could
    /// never leave 2.303), and the chapter says so and records it; seed 0 is live.
    @Test func ninWarnsAboutADeadLastBlock() throws {
        for (seed, dead) in [("2", true), ("0", false)] {
            let out = ChapterRunner.temporaryFolder("nin-dead-\(seed)")
            let r = try ChapterRunner.run("Chapter7_3_NiN", ["--seed", seed, "--train-limit", "256", "--test-limit", "64",
                                                             "--out-dir", out])
            #expect(r.status == 0, "\(r.all)")
            #expect(r.stdout.contains("Warning: with this initialisation (--seed \(seed)) the last block's first layer outputs 0") == dead, "\(r.stdout)")
            let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/metrics.json"))) as! [String: Any]
            #expect((metrics["results"] as? [String: Any])?["last_block_dead_at_start"] as? Bool == dead)
        }
    }

    /// A few seconds of training on real data: these networks have no batch norm and need a few
    /// hundred steps to leave chance level, so this checks the run and its files, not accuracy.
    @Test(arguments: [("Chapter7_1_AlexNet", "67"), ("Chapter7_2_VGG", "32"), ("Chapter7_3_NiN", "67"), ("Chapter7_4_GoogLeNet", "32")])
    func endToEndOnASubset(chapter: String, resize: String) throws {
        let out = ChapterRunner.temporaryFolder("e2e-\(chapter)")
        let r = try ChapterRunner.run(chapter, ["--train-limit", "512", "--test-limit", "500", "--batch-size", "64",
                                                "--epochs", "1", "--resize", resize, "--lr", "0.01", "--out-dir", out])
        #expect(r.status == 0, "\(r.all)")
        let result = r.stdout.split(separator: "\n").first { $0.hasPrefix("loss ") && $0.contains("test acc") }
        let fields = result.map { $0.split(separator: " ") } ?? []
        let loss = fields.count > 1 ? Double(fields[1].dropLast()) : nil
        #expect(loss.map { $0.isFinite && $0 > 0 } == true, "\(r.stdout)")
        #expect(r.stdout.contains("examples/sec on cpu"))
        #expect(r.stdout.contains("the first 512 of 60,000 training images; the first 500 of 10,000 test images"))
        let metrics = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/metrics.json"))) as! [String: Any]
        #expect(metrics["status"] as? String == "finished")
        #expect((metrics["epochs"] as? [Any])?.count == 1)
        let report = try String(contentsOfFile: out + "/report.html", encoding: .utf8)
        for png in ["inputs.png", "filters.png", "feature-maps.png", "confusion-matrix.png", "mistakes.png", "saliency.png",
                    "activations.png", "training-curves.png"] {
            let image = try readPNG(path: out + "/" + png)
            #expect(image.width > 100 && image.height > 100, "\(png)")
            #expect(report.contains("<img src=\"\(png)\""), "\(png)")
        }
        #expect(report.contains(String(result ?? "no result line")))
    }
}

/// The book's exercises: listed, refused with the valid numbers, answered with a JSON record.
@Suite(.serialized) struct ExerciseTests {
    @Test func exercisesAreListedAndAnswered() throws {
        let list = try ChapterRunner.run("Chapter7_4_GoogLeNet", ["--exercises"])
        #expect(list.status == 0 && list.stdout.contains("2.  How small can an input image be") && list.stdout.contains("4–5."), "\(list.all)")
        // Every chapter lists its exercises in the book's order and refuses an unknown number.
        let expected = ["Chapter7_1_AlexNet": "1, 2, 3, 4, 5, 6, 7, 8", "Chapter7_2_VGG": "1, 2, 3, 4", "Chapter7_3_NiN": "1, 2, 3, 4, 5, 6",
                        "Chapter7_4_GoogLeNet": "1, 2, 3, 4, 5", "Chapter7_5_BatchNorm": "1, 2, 3, 4, 5, 6, 7",
                        "Chapter7_6_ResNet": "1, 2, 3, 4, 5", "Chapter7_7_DenseNet": "1, 2, 3, 4, 5", "Chapter7_8_RegNet": "1, 2, 3, 4"]
        for (chapter, numbers) in expected.sorted(by: { $0.key < $1.key }) {
            let section = "7." + chapter.dropFirst("Chapter7_".count).prefix(1)
            let listed = try ChapterRunner.run(chapter, ["--exercises"])
            // The table ends at the first blank line; the discussions' answers follow it.
            let table = listed.stdout.components(separatedBy: "\n\n")[0].split(separator: "\n").dropFirst()
            let labels = table.compactMap { $0.split(separator: " ").first.map(String.init) }
            if chapter == "Chapter7_1_AlexNet" {
                #expect(listed.stdout.contains("The questions for discussion, answered:") && listed.stdout.contains("FLOPs per byte of weights"))
            }
            #expect(listed.status == 0 && labels.joined(separator: " ").replacingOccurrences(of: "4–5.", with: "4. 5.")
                    == numbers.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) + "." }.joined(separator: " "),
                    "\(chapter): \(listed.all)")
            let bad = try ChapterRunner.run(chapter, ["--exercise", "99"])
            #expect(bad.status != 0 && bad.stderr.contains("--exercise 99: section \(section)'s exercises here are \(numbers)"), "\(bad.all)")
        }

        let out = ChapterRunner.temporaryFolder("exercise-2")
        let two = try ChapterRunner.run("Chapter7_4_GoogLeNet", ["--exercise", "2", "--out-dir", out])
        #expect(two.status == 0, "\(two.all)")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/exercise-2.json"))) as! [String: Any]
        // With padding in every layer a single pixel goes through; the five halvings of the side
        // leave the last stage 2×2 from 33 pixels on (⌈33/32⌉ = 2).
        #expect(json["minimum_side"] as? Double == 1 && json["smallest_side_with_2x2_last_stage"] as? Double == 33)
        #expect(json["exercise"] as? String == "7.4.2")

        let four = try ChapterRunner.run("Chapter7_4_GoogLeNet", ["--exercise", "5", "--out-dir", out])
        #expect(four.status == 0, "\(four.all)")
        let table = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/exercise-4-5.json"))) as! [String: Any]
        let networks = table["networks"] as! [[String: Any]]
        // The book's totals (AlexNet, VGG-11, NiN, GoogLeNet at one input channel and 10 classes).
        #expect(networks.map { $0["parameters"] as! Double } == [46_764_746, 128_806_154, 1_992_166, 5_977_530])
        #expect(networks[2]["dense_parameters"] as? Double == 0)
        #expect(try readPNG(path: out + "/exercise-4-5.png").width > 400)
        #expect(try String(contentsOfFile: out + "/report.html", encoding: .utf8).contains("<img src=\"exercise-4-5.png\""))

        // VGG-16 and VGG-19 from the paper's Table 1: for ImageNet the paper's totals; for
        // Fashion-MNIST counted by hand, 3×3 convolutions (9·in·out + out) and the dense head.
        let vgg = try ChapterRunner.run("Chapter7_2_VGG", ["--exercise", "3", "--out-dir", out])
        #expect(vgg.status == 0, "\(vgg.all)")
        let v = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/exercise-3.json"))) as! [String: Any]
        func totals(_ key: String) -> [Double] { ((v[key] as! [String: Any])["networks"] as! [[String: Any]]).map { $0["parameters"] as! Double } }
        #expect(totals("imagenet") == [138_357_544, 143_667_240])
        func byHand(_ blocks: [(Int, Int)]) -> Int {
            var c = 1, total = 0
            for (convs, k) in blocks { for _ in 0..<convs { total += 9 * c * k + k; c = k } }
            return total + (512 * 7 * 7 * 4096 + 4096) + (4096 * 4096 + 4096) + (4096 * 10 + 10)
        }
        let vgg16 = byHand([(2, 64), (2, 128), (3, 256), (3, 512), (3, 512)]), vgg19 = byHand([(2, 64), (2, 128), (4, 256), (4, 512), (4, 512)])
        #expect(totals("fashion_mnist") == [128_806_154, Double(vgg16), Double(vgg19)])
        // DenseNet-121/169 and ResNet-34 as the papers build them: torchvision's totals.
        let densenets = try ChapterRunner.run("Chapter7_7_DenseNet", ["--exercise", "4", "--out-dir", out])
        #expect(densenets.status == 0, "\(densenets.all)")
        let d = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/exercise-4.json"))) as! [String: Any]
        #expect(((d["imagenet"] as! [String: Any])["networks"] as! [[String: Any]]).map { $0["parameters"] as! Double } == [7_978_856, 14_149_480])
        let resnet = try ChapterRunner.run("Chapter7_6_ResNet", ["--exercise", "2", "--epochs", "1", "--train-limit", "256",
                                                                  "--test-limit", "100", "--out-dir", out])
        #expect(resnet.status == 0, "\(resnet.all)")
        let r = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/exercise-2.json"))) as! [String: Any]
        #expect(r["imagenet_without_conv_biases_with_shortcut_norms"] as? Double == 21_797_672)
        #expect((r["training"] as! [[String: Any]]).map { $0["network"] as! String } == ["ResNet-18", "ResNet-34"])
        // AlexNet's memory: the convolutions' and dense layers' parameters add up to the book's total.
        let alex = try ChapterRunner.run("Chapter7_1_AlexNet", ["--exercise", "1", "--out-dir", out])
        #expect(alex.status == 0, "\(alex.all)")
        let a = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/exercise-1.json"))) as! [String: Any]
        let convParameters = (a["convolutions"] as! [String: Any])["parameters"] as! Double
        let denseParameters = (a["dense_layers"] as! [String: Any])["parameters"] as! Double
        #expect(convParameters == 3_723_968 && convParameters + denseParameters == 46_764_746)
        #expect((a["saved_for_backward_bytes_per_image"] as! Double) > 1e6)
        let dense = try ChapterRunner.run("Chapter7_7_DenseNet", ["--exercise", "2", "--out-dir", out])
        #expect(dense.status == 0 && dense.stdout.contains("DenseNet has 6.8% of ResNet-18's parameters (758,226 against 11,178,378)"), "\(dense.all)")
    }

    /// Exercise 7.7.1 on a tiny budget: both poolings, two seeds each, with the same data.
    @Test func transitionPoolingExperiment() throws {
        let out = ChapterRunner.temporaryFolder("exercise-pooling")
        let r = try ChapterRunner.run("Chapter7_7_DenseNet", ["--exercise", "1", "--epochs", "1", "--train-limit", "512",
                                                              "--test-limit", "200", "--out-dir", out])
        #expect(r.status == 0, "\(r.all)")
        let json = try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: out + "/exercise-1.json"))) as! [String: Any]
        let runs = json["runs"] as! [[String: Any]]
        #expect(runs.map { $0["pooling"] as! String } == ["average", "average", "max", "max"])
        #expect(runs.map { $0["seed"] as! Double } == [0, 1, 0, 1])
        #expect((json["seed_spread"] as! Double) >= 0)
        #expect(try readPNG(path: out + "/exercise-1.png").width == 720)
    }
}
