import D2L
import Foundation
import Testing
@testable import ChapterKit

/// report.html is made from what the run printed: the transcript keeps printed lines, headings,
/// paragraphs and pictures in order, and the report shows each as what it is.
@Suite(.serialized) struct ReportTests {
    @Test func transcriptKeepsEverythingInOrder() throws {
        let transcript = try #require(Transcript.start())
        print("banner line")
        Narration.section("7.6 Residual Networks")
        Narration.say("A paragraph that\nsays something.")
        print("Residual(3) gives [4, 3, 6, 6]")
        print("\r\u{1B}[2Kepoch 1/2  3/10 [==>   ]", terminator: "")
        print("\r\u{1B}[2Kepoch 1/2: loss 0.5")
        Transcript.active?.mark(.picture("filters.png"))
        print("after the picture")
        let events = transcript.stop()
        #expect(Transcript.active == nil)
        #expect(events == [
            .output("banner line\n"), .heading("7.6 Residual Networks"), .paragraph("A paragraph that\nsays something."),
            .output("Residual(3) gives [4, 3, 6, 6]\n\r\u{1B}[2Kepoch 1/2  3/10 [==>   ]\r\u{1B}[2Kepoch 1/2: loss 0.5\n"),
            .picture("filters.png"), .output("after the picture\n"),
        ])
    }

    @Test func reportShowsEachEventAsWhatItIs() {
        let settings = RunSettings(profile: "quick", mode: .train,
                                   train: TrainConfig(epochs: 1, batchSize: 8, learningRate: 0.1, resize: 28), threads: 1)
        let html = Report.html(name: "Chapter7_6_ResNet", events: [
            .heading("7.6 <ResNet>"), .paragraph("Prose on\ntwo lines.\n    BN(x) = γx + β\nMore."),
            .output("\r\u{1B}[2Kepoch 1/2 [=>  ]\r\u{1B}[2Kepoch 1/2: loss 0.5\nloss 0.5, train acc 0.8\n"),
            .picture("curves.png"), .output("\n"), .picture("curves.png"),
        ], settings: settings, status: "finished")
        #expect(html.contains("<h2>7.6 &lt;ResNet&gt;</h2>"))
        #expect(Report.inline("designed *design spaces* with `batch_norm`, 2*3*4 = 24") ==
                "designed <em>design spaces</em> with <code>batch_norm</code>, 2*3*4 = 24")
        #expect(html.contains("<p>Prose on two lines.</p>\n<pre class=\"formula\">    BN(x) = γx + β</pre>\n<p>More.</p>"))
        #expect(html.contains("<pre>epoch 1/2: loss 0.5\nloss 0.5, train acc 0.8</pre>"))
        // A picture drawn twice is shown once, where it was drawn last.
        #expect(html.components(separatedBy: "<img src=\"curves.png\"").count == 2)
        #expect(html.contains("<tr><td>batch_size</td><td>8</td></tr>") && html.contains("<tr><td>lr</td><td>0.1</td></tr>"))
        #expect(!html.contains("<script"))
    }
}
