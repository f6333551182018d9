import CZlib
import Foundation
import Testing
@testable import D2L

/// Writes an IDX file (gzipped when the name ends in .gz) with the given header fields.
func writeIDX(_ path: String, type: UInt8 = 0x08, dims: [Int], payload: [UInt8], extra: [UInt8] = []) {
    var bytes: [UInt8] = [0, 0, type, UInt8(dims.count)]
    for d in dims { bytes += [UInt8(d >> 24 & 0xFF), UInt8(d >> 16 & 0xFF), UInt8(d >> 8 & 0xFF), UInt8(d & 0xFF)] }
    bytes += payload + extra
    if path.hasSuffix(".gz") {
        let gz = gzopen(path, "wb")!
        _ = bytes.withUnsafeBytes { gzwrite(gz, $0.baseAddress, UInt32($0.count)) }
        gzclose(gz)
    } else {
        #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)), "could not create a test file")
    }
}

/// A fresh empty folder under the temporary directory.
func temporaryFolder(_ name: String) -> String {
    let dir = NSTemporaryDirectory() + "modern-cnns-tests-\(getpid())-\(name)"
    try? FileManager.default.removeItem(atPath: dir)
    try! FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    return dir
}

/// A tiny valid Fashion-MNIST folder: `train` and `test` images of 4×4 with labels i % 10.
func writeTinyDataset(_ dir: String, train: Int = 20, test: Int = 10, gz: Bool = true) {
    let ext = gz ? ".gz" : ""
    for (prefix, n) in [("train", train), ("t10k", test)] {
        writeIDX("\(dir)/\(prefix)-images-idx3-ubyte\(ext)", dims: [n, 4, 4], payload: (0..<(n * 16)).map { UInt8($0 % 256) })
        writeIDX("\(dir)/\(prefix)-labels-idx1-ubyte\(ext)", dims: [n], payload: (0..<n).map { UInt8($0 % 10) })
    }
}

extension CoreTests {
    @Suite struct DataTests {
        @Test(arguments: [true, false])
        func readsValidFiles(gz: Bool) throws {
            let dir = temporaryFolder("valid-\(gz)")
            writeTinyDataset(dir, gz: gz)
            let data = try FashionMNIST(dataDir: dir)
            #expect(data.train.count == 20 && data.test.count == 10)
            #expect(data.train.height == 4 && data.train.pixels[17] == 17)
            #expect(data.train.labels[13] == 3)
            let limited = try FashionMNIST(dataDir: dir, trainLimit: 5, testLimit: 3)
            #expect(limited.train.count == 5 && limited.test.count == 3 && limited.train.pixels.count == 80)
        }

        @Test func malformedFilesAreNamed() throws {
            let dir = temporaryFolder("bad")
            let path = "\(dir)/x-ubyte.gz"
            func expectError(_ contains: String, rank: Int = 3) {
                do {
                    _ = try IDXFile(path: path, expectedRank: rank)
                    Issue.record("no error for: \(contains)")
                } catch let e as DataError {
                    #expect(e.description.contains(contains), "\(e)")
                    #expect(e.description.contains(path))
                } catch { Issue.record("unexpected \(error)") }
            }
            writeIDX(path, type: 0x0D, dims: [2, 2, 2], payload: [UInt8](repeating: 0, count: 32))
            expectError("value type 0x0d")
            writeIDX(path, dims: [2, 4], payload: [UInt8](repeating: 0, count: 8))
            expectError("2 dimensions, expected 3")
            writeIDX(path, dims: [5, 2, 2], payload: [UInt8](repeating: 0, count: 12))
            expectError("ends after 12 of 20 bytes")
            writeIDX(path, dims: [2, 2, 2], payload: [UInt8](repeating: 0, count: 8), extra: [1, 2])
            expectError("extra bytes")
            writeIDX(path, dims: [2, 0, 2], payload: [])
            expectError("implausible item shape")
            // A header announcing 10⁷ images of 4096×4096 (160 TB) over 8 real bytes.
            writeIDX(path, dims: [10_000_000, 4096, 4096], payload: [UInt8](repeating: 7, count: 8))
            expectError("ends after 8 of")
            #expect(FileManager.default.createFile(atPath: path, contents: Data([1, 2, 3, 4, 5, 6, 7, 8])), "could not create a test file")
            expectError("magic bytes 01 02 03 04")
            // A gzip stream cut in the middle.
            writeIDX(path, dims: [100, 8, 8], payload: (0..<6400).map { UInt8($0 % 251) })
            let whole = FileManager.default.contents(atPath: path)!
            #expect(FileManager.default.createFile(atPath: path, contents: whole.prefix(whole.count / 2)), "could not create a test file")
            expectError("damaged")
            try? FileManager.default.removeItem(atPath: path)
            expectError("no such file")
        }

        @Test func inconsistentSplitsAreNamed() throws {
            let dir = temporaryFolder("inconsistent")
            writeTinyDataset(dir)
            writeIDX("\(dir)/t10k-labels-idx1-ubyte.gz", dims: [9], payload: [UInt8](repeating: 1, count: 9))
            #expect(throws: DataError.self) { try FashionMNIST(dataDir: dir) }
            do { _ = try FashionMNIST(dataDir: dir) } catch { #expect("\(error)".contains("10 images but")) }
            writeIDX("\(dir)/t10k-labels-idx1-ubyte.gz", dims: [10], payload: [0, 1, 2, 3, 4, 5, 6, 7, 8, 12])
            do { _ = try FashionMNIST(dataDir: dir) } catch { #expect("\(error)".contains("label 12 at index 9 is outside 0–9")) }
        }

        /// With a limit only the first items are used, but the whole file is still checked: the
        /// counts both headers announce, and the gzip stream to its CRC.
        @Test func aLimitStillChecksTheWholeFile() throws {
            let dir = temporaryFolder("limited")
            writeTinyDataset(dir)
            writeIDX("\(dir)/t10k-labels-idx1-ubyte.gz", dims: [9], payload: [UInt8](repeating: 1, count: 9))
            do {
                _ = try FashionMNIST(dataDir: dir, testLimit: 3)
                Issue.record("a count mismatch past the limit went unnoticed")
            } catch let e as DataError {
                #expect(e.description.contains("t10k-images-idx3-ubyte.gz has 10 images but") && e.description.contains("has 9 labels"))
            }
            writeTinyDataset(dir)
            let images = "\(dir)/train-images-idx3-ubyte.gz"
            // Large enough (3 MB inflated) that reading the first items does not reach the stream's end.
            var g = SeededGenerator(seed: 8)
            writeIDX(images, dims: [20, 400, 400], payload: (0..<(20 * 400 * 400)).map { _ in UInt8(g.next() % 4) })
            var bytes = [UInt8](FileManager.default.contents(atPath: images)!)
            bytes[bytes.count - 6] ^= 0x10           // inside the CRC-32 at the end of the stream
            #expect(FileManager.default.createFile(atPath: images, contents: Data(bytes)))
            do {
                _ = try FashionMNIST(dataDir: dir, trainLimit: 5)
                Issue.record("a CRC mismatch past the limit went unnoticed")
            } catch let e as DataError {
                #expect(e.description.contains("\(images) is damaged") && e.description.contains("incorrect data check"), "\(e)")
            }
        }

        @Test func aDataDirThatIsAFileIsNamed() {
            do {
                _ = try FashionMNIST(dataDir: "/etc/passwd")
                Issue.record("expected an error")
            } catch {
                #expect("\(error)" == "cannot read /etc/passwd: it is a file, not a folder; --data-dir takes the folder that holds the four files")
            }
        }

        @Test func missingDataSaysWhatToInstall() throws {
            let dir = temporaryFolder("empty")
            writeIDX("\(dir)/train-images-idx3-ubyte.gz", dims: [1, 2, 2], payload: [0, 0, 0, 0])
            do {
                _ = try FashionMNIST(dataDir: dir)
                Issue.record("expected notFound")
            } catch let e as DataError {
                let text = e.description
                for needle in ["t10k-labels-idx1-ubyte", "apt-get install dataset-fashion-mnist", "--data-dir", dir,
                               "missing: train-labels-idx1-ubyte, t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte"] {
                    #expect(text.contains(needle), "\(needle) not in: \(text)")
                }
            }
        }

        @Test func resizeMatchesHandComputedPILValues() {
            // Upsampling a row [0, 255] to 4: centres 0.25, 0.75, 1.25, 1.75 → weights
            // (1), (¾, ¼), (¼, ¾), (1) → 0, 63.75 → 64, 191.25 → 191, 255 (PIL rounds half up).
            let up = BilinearResize(from: 2, to: 4)
            var out = [UInt8](repeating: 0, count: 16)
            [UInt8]([0, 255, 0, 255]).withUnsafeBufferPointer { src in
                out.withUnsafeMutableBufferPointer { up(src.baseAddress!, into: $0.baseAddress!) }
            }
            #expect(Array(out[0..<4]) == [0, 64, 191, 255])
            #expect(Array(out[12..<16]) == [0, 64, 191, 255])
            // Shrinking 4 → 2 widens the triangle (antialiasing): weights 3/7, 3/7, 1/7 →
            // (0·3 + 100·3 + 200)/7 = 71.4 → 71 and (100 + 200·3 + 255·3)/7 = 209.3 → 209.
            let down = BilinearResize(from: 4, to: 2)
            let row: [UInt8] = [0, 100, 200, 255]
            var small = [UInt8](repeating: 0, count: 4)
            (row + row + row + row).withUnsafeBufferPointer { src in
                small.withUnsafeMutableBufferPointer { down(src.baseAddress!, into: $0.baseAddress!) }
            }
            #expect(small == [71, 209, 71, 209])
            // The same size is the identity.
            let same = BilinearResize(from: 3, to: 3)
            var copy = [UInt8](repeating: 0, count: 9)
            [UInt8](1...9).withUnsafeBufferPointer { src in copy.withUnsafeMutableBufferPointer { same(src.baseAddress!, into: $0.baseAddress!) } }
            #expect(copy == [UInt8](1...9))
        }

        @Test func batchesScaleResizeAndShuffle() {
            let set = ImageSet(pixels: (0..<(10 * 4)).map { UInt8($0 * 6) }, labels: (0..<10).map { Int32($0) }, height: 2, width: 2)
            let (x, y) = set.batch(set.batches(size: 4)[1], resize: BilinearResize(from: 2, to: 2))
            #expect(x.shape == [4, 1, 2, 2] && y == [4, 5, 6, 7])
            #expect(x.data[0] == Float(16 * 6) / 255)
            #expect(set.batches(size: 4).map(\.count) == [4, 4, 2])       // last batch partial
            var g1 = SeededGenerator(seed: 5), g2 = SeededGenerator(seed: 5)
            let a = set.shuffledBatches(size: 3, using: &g1).flatMap { $0 }, b = set.shuffledBatches(size: 3, using: &g2).flatMap { $0 }
            #expect(a == b && a.sorted() == Array(0..<10) && a != Array(0..<10))
            let big = set.batch(set.batches(size: 2)[0], resize: BilinearResize(from: 2, to: 5)).images
            #expect(big.shape == [2, 1, 5, 5])
        }
    }
}

extension CoreTests {
    @Suite struct IDXFuzzTests {
        /// Random truncations and bit flips of valid files, gzipped and plain: every outcome is
        /// either a clean `DataError` or a correctly shaped result, never a crash or a hang.
        @Test(arguments: [true, false])
        func truncationsAndBitFlips(gz: Bool) throws {
            let dir = temporaryFolder("fuzz-\(gz)")
            let path = dir + (gz ? "/f-ubyte.gz" : "/f-ubyte")
            writeIDX(path, dims: [12, 5, 5], payload: (0..<300).map { UInt8($0 % 256) })
            let valid = FileManager.default.contents(atPath: path)!
            var g = SeededGenerator(seed: gz ? 11 : 12)
            var errors = 0, parsed = 0
            for trial in 0..<300 {
                var bytes = [UInt8](valid)
                if trial % 2 == 0 {
                    bytes = Array(bytes.prefix(Int(g.next() % UInt64(bytes.count))))
                } else {
                    for _ in 0..<(1 + Int(g.next() % 3)) {
                        let i = Int(g.next() % UInt64(bytes.count))
                        bytes[i] ^= UInt8(1 << (g.next() % 8))
                    }
                }
                #expect(FileManager.default.createFile(atPath: path, contents: Data(bytes)), "could not create a test file")
                do {
                    let f = try IDXFile(path: path, expectedRank: 3)
                    parsed += 1
                    #expect(f.dims.count == 3 && f.bytes.count == f.dims.reduce(1, *))
                } catch is DataError {
                    errors += 1
                }
            }
            #expect(errors > 0 && errors + parsed == 300)
        }
    }
}
