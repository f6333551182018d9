import D2L
import Foundation
import Testing

/// Chapter 7.8: the RegNetX-32 printout, and a tiny design-space study that shards, resumes and merges.
@Suite(.serialized) struct RegNetChapterTests {
    @Test func summaryMatchesTheBook() throws {
        let r = try ChapterRunner.run("Chapter7_8_RegNet", ["--summary-only", "--full"])
        #expect(r.status == 0, "\(r.all)")
        #expect(r.stdout.contains("ResNeXtBlock(channels: 32, groupWidth: 16, botMul: 1) on X of shape [4, 32, 96, 96] gives [4, 32, 96, 96]"))
        #expect(r.stdout.contains("""
        Sequential output shape:\t[1, 32, 48, 48]
        Sequential output shape:\t[1, 32, 24, 24]
        Sequential output shape:\t[1, 80, 12, 12]
        Sequential output shape:\t[1, 10]
        """))
        #expect(r.stdout.contains("179,290 parameters"))
        #expect(r.stdout.contains("AnyNetX_E: D with depths that never decrease"))
    }

    @Test(arguments: ["--spaces=A,Q", "--macs-band=9:3", "--shard=3/3", "--samples=0", "--budget=-1", "--side=8"])
    func badStudyFlags(argument: String) throws {
        let r = try ChapterRunner.run("Chapter7_8_RegNet", [argument, "--out-dir", ChapterRunner.temporaryFolder("bad-flag")])
        #expect(r.status != 0)
        #expect(r.stderr.contains(String(argument.split(separator: "=")[0])), "\(r.all)")
    }

    /// `--side`: the networks train on resized images, the default band scales with the area
    /// (2.5–5 million multiply-adds at 28×28, 10–20 at 56×56), and the records say the side.
    @Test func studyAtAnotherResolution() throws {
        let summary = try ChapterRunner.run("Chapter7_8_RegNet", ["--summary-only", "--part", "study", "--side", "56"])
        #expect(summary.status == 0, "\(summary.all)")
        let text = summary.stdout.replacingOccurrences(of: "\n", with: " ")   // the narration wraps its lines
        #expect(text.contains("Fashion-MNIST resized to 56×56"), "\(summary.stdout)")
        #expect(text.contains("10–20 million multiply-adds per image"), "\(summary.stdout)")
        let base = ChapterRunner.temporaryFolder("study-side")
        let r = try ChapterRunner.run("Chapter7_8_RegNet", ["--part", "study", "--spaces", "E", "--samples", "1", "--budget", "2",
                                                            "--side", "16", "--rank-check", "0", "--test-limit", "200", "--out-dir", base])
        #expect(r.status == 0, "\(r.all)")
        let line = try String(contentsOfFile: base + "/design-space.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(line.count == 1)
        let o = try JSONSerialization.jsonObject(with: Data(line[0].utf8)) as! [String: Any]
        #expect(o["side"] as? Int == 16)
        let band = o["macs_band"] as! [Int]
        // 2.5–5 M × (16/28)², to the hundredth of a million: 0.82–1.63 M.
        #expect(band.count == 2 && abs(band[0] - 820_000) <= 1 && abs(band[1] - 1_630_000) <= 1, "\(band)")
    }

    /// Two shards of a 2-space × 3-sample study, a rerun that resumes (trains nothing), and a merge.
    @Test func tinyStudyShardsResumesAndMerges() throws {
        let base = ChapterRunner.temporaryFolder("study")
        let common = ["--part", "study", "--spaces", "A,X", "--samples", "3", "--budget", "4", "--macs-band", "0:100",
                      "--test-limit", "300"]
        let first = try ChapterRunner.run("Chapter7_8_RegNet", common + ["--shard", "0/2", "--out-dir", base + "/s0"])
        #expect(first.status == 0, "\(first.all)")
        let second = try ChapterRunner.run("Chapter7_8_RegNet", common + ["--shard", "1/2", "--out-dir", base + "/s1"])
        #expect(second.status == 0, "\(second.all)")
        let lines0 = try String(contentsOfFile: base + "/s0/design-space.jsonl", encoding: .utf8).split(separator: "\n")
        let lines1 = try String(contentsOfFile: base + "/s1/design-space.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(lines0.count == 4 && lines1.count == 2)      // indices 0, 2 and 1 of each space
        for line in lines0 + lines1 {
            let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
            for key in ["space", "index", "seed", "architecture", "params", "macs", "error", "seconds"] { #expect(o[key] != nil, "\(key)") }
            #expect((0...1).contains(o["error"] as! Double))
        }
        let png = try readPNG(path: base + "/s0/design-space-edf.png")
        #expect(png.width == 760 && png.height == 500)

        let again = try ChapterRunner.run("Chapter7_8_RegNet", common + ["--shard", "0/2", "--out-dir", base + "/s0"])
        #expect(again.status == 0)
        #expect(again.stdout.components(separatedBy: "(already in design-space.jsonl)").count - 1 == 4, "\(again.stdout)")
        #expect(try String(contentsOfFile: base + "/s0/design-space.jsonl", encoding: .utf8).split(separator: "\n").count == 4)

        let merged = try ChapterRunner.run("Chapter7_8_RegNet", ["--merge", base + "/s0/design-space.jsonl", base + "/s1/design-space.jsonl",
                                                                 "--out-dir", base + "/merged"])
        #expect(merged.status == 0, "\(merged.all)")
        #expect(merged.stdout.contains("6 distinct networks"))
        #expect(merged.stdout.contains("AnyNetX_A") && merged.stdout.contains("RegNetX"))
        #expect(try String(contentsOfFile: base + "/merged/design-space.jsonl", encoding: .utf8).split(separator: "\n").count == 6)
        _ = try readPNG(path: base + "/merged/design-space-edf.png")
        _ = try readPNG(path: base + "/merged/design-space-best-of-n.png")
    }

    /// The cluster recipe on one machine: two shards as two processes running at the same time
    /// (what GNU parallel or a Slurm array does), then --merge; the merged study holds exactly
    /// the networks, with exactly the errors, of the same study run unsharded.
    @Test func concurrentShardsMergeToTheUnshardedStudy() throws {
        let base = ChapterRunner.temporaryFolder("concurrent-study")
        let common = ["--part", "study", "--spaces", "B,X", "--samples", "4", "--budget", "3", "--macs-band", "0:100",
                      "--test-limit", "200", "--threads", "1"]
        let shards = try (0..<2).map { i in
            try ChapterRunner.start("Chapter7_8_RegNet", common + ["--shard", "\(i)/2", "--out-dir", base + "/s\(i)"])
        }
        for shard in shards {
            let r = shard.wait()
            #expect(r.status == 0, "\(r.all)")
        }
        let merged = try ChapterRunner.run("Chapter7_8_RegNet", ["--merge", base + "/s0/design-space.jsonl", base + "/s1/design-space.jsonl",
                                                                 "--out-dir", base + "/merged"])
        #expect(merged.status == 0 && merged.stdout.contains("8 distinct networks"), "\(merged.all)")
        let whole = try ChapterRunner.run("Chapter7_8_RegNet", common + ["--out-dir", base + "/whole"])
        #expect(whole.status == 0, "\(whole.all)")
        func records(_ path: String) throws -> [String: Double] {
            var byKey: [String: Double] = [:]
            for line in try String(contentsOfFile: path, encoding: .utf8).split(separator: "\n") {
                let o = try JSONSerialization.jsonObject(with: Data(line.utf8)) as! [String: Any]
                byKey["\(o["space"]!) #\(o["index"]!)"] = o["error"] as? Double
            }
            return byKey
        }
        let (fromShards, unsharded) = (try records(base + "/merged/design-space.jsonl"), try records(base + "/whole/design-space.jsonl"))
        #expect(fromShards.count == 8 && fromShards == unsharded)
    }

    /// The paper's recipe is recorded with each network, and a study with the other recipe in
    /// the same folder trains its own networks instead of reusing those.
    @Test func recipesAreKeptApart() throws {
        let base = ChapterRunner.temporaryFolder("recipes")
        let common = ["--part", "study", "--spaces", "C", "--samples", "2", "--budget", "2", "--macs-band", "0:100",
                      "--test-limit", "100", "--rank-check", "0", "--out-dir", base]
        let paper = try ChapterRunner.run("Chapter7_8_RegNet", common + ["--recipe", "paper"])
        #expect(paper.status == 0 && paper.stdout.contains("momentum 0.9") && paper.stdout.contains("cosine"), "\(paper.all)")
        let sgd = try ChapterRunner.run("Chapter7_8_RegNet", common + ["--recipe", "sgd"])
        #expect(sgd.status == 0 && !sgd.stdout.contains("(already in design-space.jsonl)"), "\(sgd.all)")
        let lines = try String(contentsOfFile: base + "/design-space.jsonl", encoding: .utf8).split(separator: "\n")
        #expect(lines.count == 4 && lines.filter { $0.contains("\"recipe\":\"paper\"") }.count == 2)
    }
}
