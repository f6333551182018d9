import D2L
import Foundation
import Testing

/// report.html as a person sees it: rendered by headless Chromium (Debian's `chromium`) to a
/// PNG, which must show text and pictures, not a blank page. Skipped, saying so, where no
/// Chromium is installed.
@Suite(.serialized) struct ReportBrowserTests {
    static let chromium = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].first { FileManager.default.isExecutableFile(atPath: $0) }

    @Test(.enabled(if: chromium != nil, "no Chromium installed (apt-get install chromium): the report is not rendered"))
    func reportRendersInABrowser() throws {
        let out = ChapterRunner.temporaryFolder("report-browser")
        let r = try ChapterRunner.run("Chapter7_5_BatchNorm", ["--epochs", "1", "--train-limit", "1024", "--test-limit", "300",
                                                                "--out-dir", out])
        #expect(r.status == 0, "\(r.all)")
        let shot = out + "/report-screenshot.png"
        let browser = Process()
        browser.executableURL = URL(fileURLWithPath: Self.chromium!)
        browser.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1000,2400",
                             "--screenshot=\(shot)", "file://\(out)/report.html"]
        browser.standardOutput = FileHandle.nullDevice
        browser.standardError = FileHandle.nullDevice
        try browser.run()
        browser.waitUntilExit()
        #expect(browser.terminationStatus == 0)
        let png = try readPNG(path: shot)
        #expect(png.width == 1000 && png.height == 2400)
        // Not blank: a good share of the page is drawn (text, pictures), in many colours.
        var drawn = 0, colours = Set<Int>()
        for i in stride(from: 0, to: png.rgb.count, by: 3) {
            let (r, g, b) = (Int(png.rgb[i]), Int(png.rgb[i + 1]), Int(png.rgb[i + 2]))
            if r + g + b < 600 { drawn += 1 }
            colours.insert(r << 16 | g << 8 | b)
        }
        #expect(drawn > png.width * png.height / 50, "only \(drawn) drawn pixels")
        #expect(colours.count > 200, "only \(colours.count) colours")
    }
}
