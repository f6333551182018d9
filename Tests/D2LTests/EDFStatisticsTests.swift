import Foundation
import Testing
@testable import D2L
@testable import Experiments
import Models

/// The statistics of the design-space comparison on samples whose answers are known.
@Suite struct EDFStatisticsTests {
    @Test func kolmogorovSmirnovOnHandMadeSamples() {
        #expect(kolmogorovSmirnov([0.1, 0.2, 0.3], [0.3, 0.1, 0.2]) == 0)
        #expect(kolmogorovSmirnov([0.1, 0.2], [0.5, 0.6]) == 1)
        // F_a jumps to 1/2 at 0.1 and 1 at 0.3; F_b to 1/2 at 0.2 and 1 at 0.4: D = 1/2.
        #expect(kolmogorovSmirnov([0.1, 0.3], [0.2, 0.4]) == 0.5)
        // Unequal sizes: at e = 0.2 F_a = 2/3 and F_b = 0, the largest gap.
        #expect(Swift.abs(kolmogorovSmirnov([0.1, 0.2, 0.9], [0.5, 0.95]) - 2.0 / 3) < 1e-12)
    }

    @Test func bootstrapIntervalsCoverTheTruthAndSeparateShiftedSamples() {
        var g = SeededGenerator(seed: 1)
        let a = (0..<40).map { _ in Double(g.normal()) * 0.01 + 0.30 }
        let b = a.map { $0 + 0.05 }          // the same shape, shifted by exactly 0.05
        let d = bootstrapMeanDifference(a, b, seed: 3)
        #expect(Swift.abs(d.estimate - 0.05) < 1e-12)
        #expect(d.low < 0.05 && d.high > 0.05 && d.sign == 1)
        // Same distribution twice: the interval contains 0.
        let c = (0..<40).map { _ in Double(g.normal()) * 0.01 + 0.30 }
        #expect(bootstrapMeanDifference(a, c, seed: 3).sign == 0)
        // Reproducible from the seed.
        #expect(bootstrapMeanDifference(a, c, seed: 3) == bootstrapMeanDifference(a, c, seed: 3))
        // The spread of the bootstrap mean of 40 values of s.d. 0.01 is about 0.01 / √40 · √2.
        #expect((d.high - d.low) / 3.92 > 0.0015 && (d.high - d.low) / 3.92 < 0.0030)
    }

    @Test func edfBandsContainTheEDFAndNarrowWithMoreSamples() {
        // Evenly spread errors in (0, 1): the EDF at x is about x for both.
        let small = (0..<10).map { (Double($0) + 0.5) / 10 }
        let large = (0..<200).map { (Double($0) + 0.5) / 200 }
        let grid = [0.25, 0.5, 0.75]
        let bandSmall = edfBand(small, grid: grid, seed: 1), bandLarge = edfBand(large, grid: grid, seed: 1)
        for (i, x) in grid.enumerated() {
            let f = edf(small.sorted(), at: x)
            #expect(bandSmall[i].low <= f && f <= bandSmall[i].high)
            #expect(bandLarge[i].high - bandLarge[i].low < bandSmall[i].high - bandSmall[i].low)
        }
        // Below every error the EDF is 0 in every resample, above every error 1.
        let ends = edfBand(small, grid: [-1, 2], seed: 1)
        #expect(ends[0].low == 0 && ends[0].high == 0 && ends[1].low == 1 && ends[1].high == 1)
    }

    @Test func spearmanOnKnownOrders() {
        #expect(spearman([1, 2, 3, 4], [10, 20, 30, 40]) == 1)
        #expect(spearman([1, 2, 3, 4], [4, 3, 2, 1]) == -1)
        // Monotone but not linear: still 1.
        #expect(Swift.abs(spearman([1, 2, 3, 4, 5], [1, 4, 9, 16, 1000]) - 1) < 1e-12)
        // Ties share their mean rank: ranks (1.5, 1.5, 3) against (1, 2, 3) → ρ = 0.866.
        #expect(Swift.abs(spearman([5, 5, 7], [1, 2, 3]) - 0.75.squareRoot()) < 1e-12)
        #expect(ranks([3, 1, 3, 2]) == [3.5, 1, 3.5, 2])
    }

    @Test func expectedBestOfNIsExact() {
        let errors = [0.3, 0.1, 0.2]
        #expect(Swift.abs(expectedBestOfN(errors, n: 1) - 0.2) < 1e-12)          // the mean
        // Two draws from {0.1, 0.2, 0.3}: P(min 0.1) = 5/9, P(0.2) = 3/9, P(0.3) = 1/9.
        #expect(Swift.abs(expectedBestOfN(errors, n: 2) - (0.1 * 5 + 0.2 * 3 + 0.3) / 9) < 1e-12)
        #expect(Swift.abs(expectedBestOfN(errors, n: 200) - 0.1) < 1e-12)
        #expect(quantile([1, 2, 3, 4, 5], 0.5) == 3 && quantile([1, 2], 0.25) == 1.25)
    }

    @Test func quantizedLinearFitRecoversTheRuleAndMeasuresDepartures() {
        // Widths made by the rule itself are fitted exactly.
        let ruled = DesignSpaceSampler.quantizedLinearWidths(depth: 6, w0: 24, wa: 12, wm: 2)
        let exact = QuantizedLinearFit(widths: ruled)
        #expect(exact.error < 1e-12 && exact.fitted == ruled)
        // Widths that shrink cannot be: the rule only grows (wa ≥ 0, wm > 1), so e_fit > 0.
        let shrinking = QuantizedLinearFit(widths: [64, 64, 32, 16])
        #expect(shrinking.error > 0.1 && zip(shrinking.fitted, shrinking.fitted.dropFirst()).allSatisfy { $1 >= $0 })
        // e_fit is the mean |ln(w/ŵ)|, computed here by hand for the fit found.
        let widths = [16, 40, 40, 96]
        let fit = QuantizedLinearFit(widths: widths)
        let byHand = zip(widths, fit.fitted).map { Swift.abs(log(Double($0.0) / Double($0.1))) }.reduce(0, +) / 4
        #expect(Swift.abs(fit.error - byHand) < 1e-12)
        #expect(AnyNetArchitecture(stem: 16, stages: [AnyNetStage(depth: 2, channels: 16, groupWidth: 8, botMul: 1),
                                                     AnyNetStage(depth: 1, channels: 48, groupWidth: 8, botMul: 1)]).blockWidths == [16, 16, 48])
    }
}
