import D2L
import Foundation

/// The design spaces of Radosavovic et al. (2020), "Designing Network Design Spaces", scaled
/// down to Fashion-MNIST on a CPU, with the paper's sampling rules: log-uniform depths and
/// widths, widths divisible by 8, bottleneck ratios b ∈ {1, 2, 4}, power-of-two group widths,
/// the divisibility fix of its appendix D, and rejection sampling into a band of multiply-adds
/// (the paper's "MF").

/// An AnyNet design: the stem width and its stages.
public struct AnyNetArchitecture: Sendable, Hashable, Codable {
    public var stem: Int
    public var stages: [AnyNetStage]

    public init(stem: Int, stages: [AnyNetStage]) { self.stem = stem; self.stages = stages }

    /// The network (D2L's AnyNet).
    public func make(classes: Int = 10) -> Sequential { anyNet(stem: stem, stages: stages, classes: classes) }

    /// `d=(1,3,2) w=(16,48,96) b=(1,2,1) g=(4,8,16)`, b being the paper's bottleneck ratio.
    public var description: String {
        func list(_ f: (AnyNetStage) -> Int) -> String { "(" + stages.map { String(f($0)) }.joined(separator: ",") + ")" }
        return "d=\(list(\.depth)) w=\(list(\.channels)) b=\(list(\.bottleneckRatio)) g=\(list(\.groupWidth))"
    }

    /// Parameters of `make()` for a 1-channel input and `classes` outputs (biases and BN γ, β included).
    public func parameterCount(classes: Int = 10) -> Int {
        var total = 9 * stem + stem + 2 * stem           // stem conv + bias + BN
        var cin = stem
        for s in stages {
            let bot = s.bottleneckWidth, groups = bot / s.groupWidth
            for i in 0..<s.depth {
                let inC = i == 0 ? cin : s.channels
                total += inC * bot + bot + 2 * bot                      // 1×1 conv, BN
                total += (bot / groups) * 9 * bot + bot + 2 * bot        // 3×3 grouped conv, BN
                total += bot * s.channels + s.channels + 2 * s.channels  // 1×1 conv, BN
                if i == 0 { total += inC * s.channels + s.channels + 2 * s.channels }   // projection
            }
            cin = s.channels
        }
        return total + cin * classes + classes
    }

    /// Forward FLOPs of one side×side image, counted as `layerSummary` counts them: 2 per
    /// multiply-add of convolutions and the linear layer, 2 per BN output, 1 per output of the
    /// stem's ReLU layer, 1 per input of the global average pooling.
    public func flops(side: Int, classes: Int = 10) -> Int {
        func out(_ n: Int, stride: Int) -> Int { (n + 2 - 3) / stride + 1 }      // 3×3, pad 1
        var h = out(side, stride: 2)
        var total = 2 * h * h * stem * 9 + 2 * h * h * stem + h * h * stem
        var cin = stem
        for s in stages {
            let bot = s.bottleneckWidth, perGroup = s.groupWidth
            for i in 0..<s.depth {
                let inC = i == 0 ? cin : s.channels
                let hIn = h
                if i == 0 { h = out(h, stride: 2) }
                let hwIn = hIn * hIn, hw = h * h
                total += 2 * hwIn * inC * bot + 2 * hwIn * bot                       // 1×1 at input size
                total += 2 * hw * bot * perGroup * 9 + 2 * hw * bot                  // 3×3 (stride on the first)
                total += 2 * hw * bot * s.channels + 2 * hw * s.channels
                if i == 0 { total += 2 * hw * inC * s.channels + 2 * hw * s.channels }  // 1×1 stride-2 projection
            }
            cin = s.channels
        }
        return total + h * h * cin + 2 * cin * classes
    }
}

extension AnyNetArchitecture {
    /// Multiply-adds of one side×side image through the convolutions and the linear layer,
    /// without biases, batch norm, ReLU or pooling: the complexity pycls reports as "flops"
    /// and the paper's "MF" (360–400MF = 360–400 million multiply-adds).
    public func multiplyAdds(side: Int, classes: Int = 10) -> Int {
        func out(_ n: Int, stride: Int) -> Int { (n + 2 - 3) / stride + 1 }      // 3×3, pad 1
        var h = out(side, stride: 2)
        var total = h * h * stem * 9
        var cin = stem
        for s in stages {
            let bot = s.bottleneckWidth
            for i in 0..<s.depth {
                let inC = i == 0 ? cin : s.channels
                let hIn = h
                if i == 0 { h = out(h, stride: 2) }
                total += hIn * hIn * inC * bot                   // 1×1 at the input size
                total += h * h * bot * s.groupWidth * 9           // grouped 3×3: each output reads groupWidth channels
                total += h * h * bot * s.channels                 // 1×1
                if i == 0 { total += h * h * inC * s.channels }   // 1×1 stride-2 projection
            }
            cin = s.channels
        }
        return total + cin * classes
    }
}

/// AnyNetX_A … _E and RegNetX, each a refinement of the one before (Table 1 of the paper).
public enum DesignSpace: String, CaseIterable, Sendable, Codable {
    case a = "A", b = "B", c = "C", d = "D", e = "E", x = "X"

    public var name: String { self == .x ? "RegNetX" : "AnyNetX_\(rawValue)" }

    /// What the space adds to the one before it.
    public var rule: String {
        switch self {
        case .a: return "every stage has its own depth d_i, width w_i, bottleneck ratio b_i and group width g_i"
        case .b: return "A with one bottleneck ratio b shared by all stages"
        case .c: return "B with one group width g shared by all stages"
        case .d: return "C with widths that never decrease, w_(i+1) ≥ w_i"
        case .e: return "D with depths that never decrease, d_(i+1) ≥ d_i"
        case .x: return "widths from a quantized linear rule u_j = w0 + wa·j, w_j = w0·wm^round(log_wm(u_j/w0)), with shared b and g"
        }
    }

    /// Parses "A,B,X" or "a, c".
    public static func parseList(_ text: String) -> [DesignSpace]? {
        let parts = text.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces).uppercased() }
        let spaces = parts.compactMap(DesignSpace.init(rawValue:))
        return spaces.count == parts.count && !spaces.isEmpty ? spaces : nil
    }
}

/// The ranges the sampler draws from, scaled from the paper's (d ≤ 16, w ≤ 1024, g ≤ 32,
/// 4 stages at 224×224) to 28×28 Fashion-MNIST images on a CPU.
public struct DesignSpaceRanges: Sendable {
    public var stem = 16
    public var stages = 3
    public var depth = 1...4
    public var width = 8...128
    public var bottlenecks = [1, 2, 4]
    public var groupWidths = [1, 2, 4, 8, 16]
    /// RegNetX: total depth, w0, wa and wm ranges; only samples with exactly `stages` stages are kept (pycls's rule).
    public var regDepth = 2...12
    public var regW0 = 8...64
    public var regWa = 4.0...64.0
    public var regWm = 1.5...3.0
    public init() {}

    public var summary: String {
        "\(stages) stages after a \(stem)-channel stem; depth per stage \(depth.lowerBound)–\(depth.upperBound), "
        + "width \(width.lowerBound)–\(width.upperBound) (multiples of 8), both log-uniform; b ∈ {\(bottlenecks.map(String.init).joined(separator: ", "))}; "
        + "g ∈ {\(groupWidths.map(String.init).joined(separator: ", "))}. RegNetX: d \(regDepth.lowerBound)–\(regDepth.upperBound), "
        + "w0 \(regW0.lowerBound)–\(regW0.upperBound), wa \(Int(regWa.lowerBound))–\(Int(regWa.upperBound)), "
        + "wm \(regWm.lowerBound)–\(regWm.upperBound), exactly \(stages) stages"
    }
}

/// Draws architecture number `index` of a design space. Sample i of a space depends only on
/// (space, i, seed): its random stream is seeded from those three, and rejected draws (outside
/// the space's constraints or the band of multiply-adds) are retried from the same stream.
public struct DesignSpaceSampler: Sendable {
    public var ranges = DesignSpaceRanges()
    /// Input side the multiply-adds are counted at.
    public var side: Int
    /// Accepted multiply-adds per image (inclusive).
    public var macBand: ClosedRange<Int>
    /// Draws before giving up on a space (the band may be unreachable).
    public var maxTries = 100_000

    public init(side: Int, macBand: ClosedRange<Int>, ranges: DesignSpaceRanges = DesignSpaceRanges()) {
        self.side = side; self.macBand = macBand; self.ranges = ranges
    }

    public struct Sample: Sendable {
        public let architecture: AnyNetArchitecture
        /// Draws it took, this one included.
        public let tries: Int
        /// Multiply-adds of one image (`AnyNetArchitecture.multiplyAdds`).
        public let multiplyAdds: Int
        public let parameters: Int
    }

    public enum SamplerError: Error, CustomStringConvertible {
        case bandUnreachable(DesignSpace, ClosedRange<Int>, tries: Int)
        public var description: String {
            switch self {
            case let .bandUnreachable(space, band, tries):
                return "no \(space.name) network with \(formatFlops(band.lowerBound))–\(formatFlops(band.upperBound)) multiply-adds "
                    + "found in \(groupDigits(tries)) draws; widen --macs-band"
            }
        }
    }

    public func sample(_ space: DesignSpace, index: Int, seed: UInt64) throws -> Sample {
        var g = SeededGenerator(seed: Self.streamSeed(space, index: index, seed: seed))
        for tries in 1...maxTries {
            guard let arch = draw(space, using: &g), satisfies(arch, space) else { continue }
            let m = arch.multiplyAdds(side: side)
            if macBand.contains(m) {
                return Sample(architecture: arch, tries: tries, multiplyAdds: m, parameters: arch.parameterCount())
            }
        }
        throw SamplerError.bandUnreachable(space, macBand, tries: maxTries)
    }

    /// The seed of sample `index` of `space` (SplitMix64 of the three, so nearby indices get unrelated streams).
    static func streamSeed(_ space: DesignSpace, index: Int, seed: UInt64) -> UInt64 {
        var z = seed &+ 0x9E37_79B9_7F4A_7C15 &* UInt64(index + 1)
        z ^= UInt64(DesignSpace.allCases.firstIndex(of: space)! + 1) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }

    /// One draw before the constraints of D, E and the band are checked.
    func draw(_ space: DesignSpace, using g: inout SeededGenerator) -> AnyNetArchitecture? {
        let r = ranges
        var stages: [(d: Int, w: Int, b: Int, g: Int)]
        if space == .x {
            let d = Int.random(in: r.regDepth, using: &g)
            let w0 = logUniform(Double(r.regW0.lowerBound), Double(r.regW0.upperBound), quantum: 8, &g)
            let wa = logUniform(r.regWa.lowerBound, r.regWa.upperBound, quantum: 0.1, &g)
            let wm = logUniform(r.regWm.lowerBound, r.regWm.upperBound, quantum: 0.001, &g)
            let b = r.bottlenecks.randomElement(using: &g)!, gw = r.groupWidths.randomElement(using: &g)!
            // pycls's rule: the quantised widths must give exactly the stages asked for, and
            // as many as their exponents span (no level merged away by rounding).
            guard Self.regNetStageCount(depth: d, w0: w0, wa: wa, wm: wm) == r.stages else { return nil }
            let widths = Self.quantizedLinearWidths(depth: d, w0: w0, wa: wa, wm: wm)
            var runs: [(d: Int, w: Int, b: Int, g: Int)] = []
            for w in widths {
                if let last = runs.last, last.w == w { runs[runs.count - 1].d += 1 } else { runs.append((1, w, b, gw)) }
            }
            guard runs.count <= r.stages, runs.allSatisfy({ r.width.contains($0.w) }) else { return nil }
            stages = runs
        } else {
            let sharedB = r.bottlenecks.randomElement(using: &g)!, sharedG = r.groupWidths.randomElement(using: &g)!
            stages = (0..<r.stages).map { _ in
                let d = Int(logUniform(Double(r.depth.lowerBound), Double(r.depth.upperBound), quantum: 1, &g))
                let w = Int(logUniform(Double(r.width.lowerBound), Double(r.width.upperBound), quantum: 8, &g))
                let b = space == .a ? r.bottlenecks.randomElement(using: &g)! : sharedB
                let gw = space == .a || space == .b ? r.groupWidths.randomElement(using: &g)! : sharedG
                return (d, w, b, gw)
            }
        }
        return AnyNetArchitecture(stem: r.stem, stages: stages.map { s in
            let (w, gw) = Self.compatible(width: s.w, bottleneck: s.b, groupWidth: s.g)
            return AnyNetStage(depth: s.d, channels: w, groupWidth: gw, botMul: 1 / Double(s.b))
        })
    }

    /// The paper's appendix D: with bottleneck width w_b = w / b, a group width larger than
    /// w_b becomes w_b; otherwise w_b is rounded to a multiple of g (and w = w_b · b).
    public static func compatible(width w: Int, bottleneck b: Int, groupWidth g: Int) -> (width: Int, groupWidth: Int) {
        let wb = w / b
        if g >= wb { return (w, wb) }
        let rounded = Swift.max(g, Int((Double(wb) / Double(g)).rounded()) * g)
        return (rounded * b, g)
    }

    /// RegNet's per-block widths: u_j = w0 + wa·j, s_j = round(log(u_j / w0) / log wm),
    /// w_j = w0 · wm^s_j rounded to a multiple of 8.
    public static func quantizedLinearWidths(depth: Int, w0: Double, wa: Double, wm: Double) -> [Int] {
        (0..<depth).map { j in
            let u = w0 + wa * Double(j)
            let s = (log(u / w0) / log(wm)).rounded()
            return Int((w0 * pow(wm, s) / 8).rounded()) * 8
        }
    }

    /// The number of stages a RegNet's parameters give, as pycls's sampler checks it: the
    /// distinct quantised widths, or nil when that is not the number of width levels their
    /// exponents s_j span (two levels merged by rounding to multiples of 8), which pycls rejects.
    public static func regNetStageCount(depth: Int, w0: Double, wa: Double, wm: Double) -> Int? {
        let exponents = (0..<depth).map { j in (log((w0 + wa * Double(j)) / w0) / log(wm)).rounded() }
        let stages = Set(quantizedLinearWidths(depth: depth, w0: w0, wa: wa, wm: wm)).count
        return stages == Int(exponents.max() ?? 0) + 1 ? stages : nil
    }

    /// Whether `arch` belongs to `space` (the checks the tests run on every sample).
    public func satisfies(_ arch: AnyNetArchitecture, _ space: DesignSpace) -> Bool {
        let s = arch.stages, r = ranges
        guard !s.isEmpty, s.count <= r.stages, arch.stem == r.stem else { return false }
        for st in s {
            let b = st.bottleneckRatio, wb = st.channels / b
            guard st.channels % 8 == 0, r.width.contains(st.channels), r.bottlenecks.contains(b),
                  st.channels % b == 0, st.groupWidth >= 1, wb % st.groupWidth == 0,
                  r.groupWidths.contains(st.groupWidth) || st.groupWidth == wb else { return false }
            if space != .x && !r.depth.contains(st.depth) { return false }
        }
        if space == .x && !r.regDepth.contains(s.reduce(0) { $0 + $1.depth }) { return false }
        if s.count != r.stages { return false }
        let sharedB = Set(s.map(\.botMul)).count == 1
        // A shared group width may be cut to a stage's bottleneck width by the divisibility fix.
        let nominalG = s.map(\.groupWidth).max()!
        let sharedG = s.allSatisfy { $0.groupWidth == nominalG || $0.groupWidth == $0.channels / $0.bottleneckRatio }
        let widthsUp = zip(s, s.dropFirst()).allSatisfy { $1.channels >= $0.channels }
        let depthsUp = zip(s, s.dropFirst()).allSatisfy { $1.depth >= $0.depth }
        switch space {
        case .a: return true
        case .b: return sharedB
        case .c: return sharedB && sharedG
        case .d: return sharedB && sharedG && widthsUp
        case .e: return sharedB && sharedG && widthsUp && depthsUp
        case .x: return sharedB && sharedG && widthsUp
        }
    }
}

/// pycls's `log_uniform`: exp of a uniform draw between log lo and log hi, rounded to a multiple of `quantum`.
func logUniform(_ lo: Double, _ hi: Double, quantum: Double, _ g: inout SeededGenerator) -> Double {
    let v = exp(Double.random(in: log(lo)...log(hi), using: &g))
    return Swift.max(quantum, (v / quantum).rounded() * quantum)
}

/// The four rules that take AnyNetX_A to AnyNetX_E: one bottleneck ratio b for all stages (B),
/// one group width g (C), widths that do not decrease from stage to stage (D), depths that do
/// not decrease (E). The "VioNet" exercise breaks one at a time.
public enum DesignPrinciple: String, CaseIterable, Sendable, Codable {
    case sharedBottleneck = "b", sharedGroupWidth = "g", increasingWidths = "w", increasingDepths = "d"

    /// What a network that breaks the rule has.
    public var violation: String {
        switch self {
        case .sharedBottleneck: "a different bottleneck ratio b in some stage"
        case .sharedGroupWidth: "a different group width g in some stage"
        case .increasingWidths: "a stage narrower than the one before it"
        case .increasingDepths: "a stage shallower than the one before it"
        }
    }
}

extension DesignSpaceSampler {
    /// A network of AnyNetX_E's ranges that keeps every rule of `DesignPrinciple` except
    /// `principle`, which it breaks, inside the band of multiply-adds: AnyNetX_A draws with the kept
    /// rules imposed (b and g copied from the first stage, widths or depths sorted upwards),
    /// retried until the broken rule is really broken.
    public func sampleViolating(_ principle: DesignPrinciple, index: Int, seed: UInt64) throws -> Sample {
        let offset = (DesignPrinciple.allCases.firstIndex(of: principle)! + 1) * 1_000_000
        var g = SeededGenerator(seed: Self.streamSeed(.a, index: index + offset, seed: seed))
        for tries in 1...maxTries {
            guard let drawn = draw(.a, using: &g) else { continue }
            var stages = drawn.stages.map { (d: $0.depth, w: $0.channels, b: $0.bottleneckRatio, g: $0.groupWidth) }
            if principle != .sharedBottleneck { for i in stages.indices { stages[i].b = stages[0].b } }
            if principle != .sharedGroupWidth { for i in stages.indices { stages[i].g = stages[0].g } }
            if principle != .increasingWidths {
                let w = stages.map(\.w).sorted()
                for i in stages.indices { stages[i].w = w[i] }
            }
            if principle != .increasingDepths {
                let d = stages.map(\.d).sorted()
                for i in stages.indices { stages[i].d = d[i] }
            }
            let arch = AnyNetArchitecture(stem: ranges.stem, stages: stages.map { s in
                let (w, gw) = Self.compatible(width: s.w, bottleneck: s.b, groupWidth: s.g)
                return AnyNetStage(depth: s.d, channels: w, groupWidth: gw, botMul: 1 / Double(s.b))
            })
            guard Self.breaks(arch, only: principle), satisfies(arch, .a) else { continue }
            let m = arch.multiplyAdds(side: side)
            if macBand.contains(m) {
                return Sample(architecture: arch, tries: tries, multiplyAdds: m, parameters: arch.parameterCount())
            }
        }
        throw SamplerError.bandUnreachable(.a, macBand, tries: maxTries)
    }

    /// Which of the four rules `arch` keeps.
    public static func keeps(_ arch: AnyNetArchitecture, _ principle: DesignPrinciple) -> Bool {
        let s = arch.stages
        switch principle {
        case .sharedBottleneck: return Set(s.map(\.botMul)).count == 1
        case .sharedGroupWidth:
            // A shared group width may be cut to a stage's bottleneck width by the divisibility fix.
            let nominal = s.map(\.groupWidth).max()!
            return s.allSatisfy { $0.groupWidth == nominal || $0.groupWidth == $0.channels / $0.bottleneckRatio }
        case .increasingWidths: return zip(s, s.dropFirst()).allSatisfy { $1.channels >= $0.channels }
        case .increasingDepths: return zip(s, s.dropFirst()).allSatisfy { $1.depth >= $0.depth }
        }
    }

    /// Whether `arch` breaks `principle` and keeps the other three.
    public static func breaks(_ arch: AnyNetArchitecture, only principle: DesignPrinciple) -> Bool {
        DesignPrinciple.allCases.allSatisfy { keeps(arch, $0) == ($0 != principle) }
    }
}
