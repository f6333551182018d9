import Foundation
import Testing
@testable import D2L

extension CoreTests {
    @Suite struct ImagingTests {
        @Test func pngRoundTrip() throws {
            let dir = temporaryFolder("png")
            var canvas = Canvas(width: 37, height: 21)
            canvas.fill(x: 2, y: 3, w: 4, h: 5, RGB(200, 10, 30))
            canvas.text("Hi 7", x: 10, y: 5)
            let path = dir + "/c.png"
            try canvas.writePNG(to: path)
            let back = try readPNG(path: path)
            #expect(back.width == 37 && back.height == 21)
            #expect(back.rgb == canvas.pixels)
            #expect(Array(back.rgb[((4 * 37) + 3) * 3 ..< ((4 * 37) + 3) * 3 + 3]) == [200, 10, 30])
            // The text put dark pixels where the glyphs are.
            #expect(canvas.pixels.enumerated().contains { $0.offset / 3 % 37 >= 10 && $0.element == 0 })
            // Atomic: no temporary file is left behind.
            #expect(try FileManager.default.contentsOfDirectory(atPath: dir) == ["c.png"])
        }

        @Test func unwritablePathGivesAnError() {
            #expect(throws: ImageWriteError.self) {
                try Canvas(width: 4, height: 4).writePNG(to: "/nonexistent-folder-xyz/a.png")
            }
        }

        @Test func figuresHaveTheExpectedSize() throws {
            let dir = temporaryFolder("figures")
            let w = randomTensor([6, 1, 5, 5], seed: 1, requiresGrad: false)
            let grid = filterGrid(w, title: "filters")
            try grid.writePNG(to: dir + "/filters.png")
            let png = try readPNG(path: dir + "/filters.png")
            #expect(png.width == grid.width && png.height == grid.height && grid.width >= 6 * 60)
            let history = (1...3).map { EpochMetrics(epoch: $0, loss: 1 / Double($0), trainAcc: 0.5 + 0.1 * Double($0), testAcc: 0.6, trainSeconds: 1) }
            let curves = trainingCurves([(name: "a", history: history), (name: "b", history: history)], title: "curves")
            #expect(curves.width == 640 && curves.height == 440)
            // The curves are drawn in the palette's colours.
            let pixels = curves.pixels   // converted from the drawing surface once
            let colours = Set(stride(from: 0, to: pixels.count, by: 3).map { RGB(pixels[$0], pixels[$0 + 1], pixels[$0 + 2]) })
            #expect(colours.isSuperset(of: RGB.palette.prefix(3)))
            let darker = RGB.palette.prefix(3).map { RGB($0.r / 2, $0.g / 2, $0.b / 2) }
            #expect(colours.isSuperset(of: darker))
            let maps = featureMapGrid(input: randomTensor([1, 1, 28, 28], seed: 2, requiresGrad: false),
                                      stages: [("a", randomTensor([1, 16, 6, 6], seed: 3, requiresGrad: false))], title: "maps")
            #expect(maps.height > 100)
        }

        @Test func tickPlacement() {
            #expect(LinePlot.ticks(0, 1).count == 6 && LinePlot.ticks(0, 1).first == 0)
            #expect(LinePlot.ticks(0, 1.02).count == 6)
            #expect(LinePlot.ticks(1, 2, minStep: 1) == [1, 2])
            #expect(LinePlot.tickLabel(2.0000000001) == "2")
            #expect(LinePlot.ticks(1, 10).first == 2 && LinePlot.ticks(1, 10).last == 10)
            #expect(LinePlot.tickLabel(0.25) == "0.25" && LinePlot.tickLabel(3) == "3")
        }
    }
}

extension RGB: Hashable {
    public func hash(into h: inout Hasher) { h.combine(r); h.combine(g); h.combine(b) }
}
