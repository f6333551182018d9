// swift-tools-version:6.1
import Foundation
import PackageDescription

// The compute-heavy targets are optimised even in debug builds, so `swift run` and
// `swift test` (debug by default) train at release speed. SwiftPM accepts these
// unsafe flags because this is a root package.
let optimiseInDebug: [SwiftSetting] = [.unsafeFlags(["-O"], .when(configuration: .debug))]

/// Whether the building machine's CPU runs AVX2 and FMA (x86-64 Linux: its /proc/cpuinfo flags;
/// every x86-64 CPU since 2013–2015 does). The compute targets are then compiled for them
/// (`-target-cpu haswell`, as `-march=native` would on such a CPU), so Swift's 8-lane SIMD code
/// runs in 256-bit registers instead of two 128-bit halves; `D2L_AVX2` lets the code say so in
/// its banner. The binaries then need such a CPU: MODERNCNNS_PORTABLE=1 builds for any x86-64.
let buildsForAVX2: Bool = {
    #if arch(x86_64)
    guard ProcessInfo.processInfo.environment["MODERNCNNS_PORTABLE"] == nil,
          let info = try? String(contentsOfFile: "/proc/cpuinfo", encoding: .utf8),
          let flags = info.split(separator: "\n").first(where: { $0.hasPrefix("flags") }) else { return false }
    let set = Set(flags.split(separator: " ").map(String.init))
    return set.contains("avx2") && set.contains("fma")
    #else
    return false
    #endif
}()
let computeSettings: [SwiftSetting] = optimiseInDebug
    + (buildsForAVX2 ? [.unsafeFlags(["-target-cpu", "haswell"]), .define("D2L_AVX2")] : [])

let argumentParser: Target.Dependency = .product(name: "ArgumentParser", package: "swift-argument-parser")
let chapterDependencies: [Target.Dependency] = ["D2L", "Models", "Experiments", "ChapterKit", argumentParser]

/// One executable per section of the chapter, in the book's order.
let chapters = [
    "Chapter7_1_AlexNet",
    "Chapter7_2_VGG",
    "Chapter7_3_NiN",
    "Chapter7_4_GoogLeNet",
    "Chapter7_5_BatchNorm",
    "Chapter7_6_ResNet",
    "Chapter7_7_DenseNet",
    "Chapter7_8_RegNet",
]

let package = Package(
    name: "ModernCNNs",
    products: [
        .library(name: "D2L", targets: ["D2L"]),
        .library(name: "Models", targets: ["Models"]),
        .library(name: "ChapterKit", targets: ["ChapterKit"]),
        .executable(name: "Benchmarks", targets: ["Benchmarks"]),
    ] + chapters.map { .executable(name: $0, targets: [$0]) },
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
    ],
    targets: [
        // System libraries (Debian: libopenblas-dev, libpng-dev, zlib1g-dev, libcairo2-dev).
        .systemLibrary(name: "CBLAS", path: "Sources/CBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        .systemLibrary(name: "CPNG", path: "Sources/CPNG", pkgConfig: "libpng",
                       providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CZlib", path: "Sources/CZlib", pkgConfig: "zlib",
                       providers: [.apt(["zlib1g-dev"])]),
        // Drawing: anti-aliased lines and real fonts for the pictures (Debian: libcairo2-dev).
        .systemLibrary(name: "CCairo", path: "Sources/CCairo", pkgConfig: "cairo",
                       providers: [.apt(["libcairo2-dev"])]),
        // glibc's malloc.h and stdio.h (mallopt, setvbuf), part of libc6-dev.
        .systemLibrary(name: "CSystem", path: "Sources/CSystem"),
        // The FMA peak probe that `Benchmarks` reports next to sgemm (header-only C).
        .systemLibrary(name: "CPeak", path: "Sources/CPeak"),

        // The shared minimal core, in layers (each folder uses only those before it):
        // Format, Compute, Tensor, Ops, Layers, Data, Training, Checkpoint, Imaging. No flag parsing.
        .target(
            name: "D2L",
            dependencies: ["CBLAS", "CPNG", "CZlib", "CSystem", "CCairo"],
            swiftSettings: computeSettings,
            // Float.rounded() and friends lower to libm calls.
            linkerSettings: [.linkedLibrary("m")]
        ),
        // The book's networks, shared by the chapters, the tests and the benchmark.
        .target(name: "Models", dependencies: ["D2L"], swiftSettings: computeSettings),
        // Experiments the chapters run beyond the book: 7.5's scratch-versus-fused comparison and
        // 7.8's design-space study (its log, shards, statistics and plot).
        .target(name: "Experiments", dependencies: ["D2L", "Models"], swiftSettings: optimiseInDebug),
        // What every chapter does around its story: flags, settings and run mode, banner,
        // narration, network presentation, checkpoints, memory refusal, pictures.
        .target(name: "ChapterKit", dependencies: ["D2L", argumentParser]),

        // `swift run -c release Benchmarks`: speed of every chapter model on synthetic data.
        .executableTarget(name: "Benchmarks", dependencies: [
            "D2L", "Models", "CPeak", argumentParser]),

        .testTarget(name: "D2LTests", dependencies: ["D2L", "Models", "Experiments", "CZlib"]),
        .testTarget(name: "ChapterKitTests", dependencies: ["ChapterKit", "D2L", "Models"]),
        .testTarget(name: "ChapterTests",
                    dependencies: ["D2L"] + chapters.map { .target(name: $0) }),
    ] + chapters.map {
        // One executable per section, its sources in Chapters/<name>.
        .executableTarget(name: $0, dependencies: chapterDependencies, path: "Chapters/\($0)")
    }
)

// libFuzzer targets (`make fuzz`): built only when MODERNCNNS_FUZZ is set, with
// -sanitize=fuzzer,address, since libFuzzer supplies their main function.
if ProcessInfo.processInfo.environment["MODERNCNNS_FUZZ"] != nil {
    package.targets += [
        .target(name: "FuzzDriver", path: "Tests/Fuzz/FuzzDriver"),
        .executableTarget(name: "FuzzSafeTensors", dependencies: ["D2L", "FuzzDriver"], path: "Tests/Fuzz/FuzzSafeTensors"),
        .executableTarget(name: "FuzzIDX", dependencies: ["D2L", "FuzzDriver"], path: "Tests/Fuzz/FuzzIDX"),
        .executableTarget(name: "FuzzStudyLog", dependencies: ["Experiments", "FuzzDriver"], path: "Tests/Fuzz/FuzzStudyLog"),
    ]
}
