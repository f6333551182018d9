import Foundation

/// Fashion-MNIST (Xiao et al. 2017): 60,000 training and 10,000 test images, 28×28 gray,
/// 10 classes. Images are kept as the original bytes and converted per batch (resized as the
/// book's `Resize`, then scaled to [0, 1] as `ToTensor`), so 224-pixel runs do not need 12 GB.
public struct FashionMNIST {
    public static let fileNames = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
                                   "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]
    public static let systemDirectory = "/usr/share/datasets/fashion-mnist"
    /// d2l's `get_fashion_mnist_labels`.
    public static let classNames = ["t-shirt", "trouser", "pullover", "dress", "coat",
                                    "sandal", "shirt", "sneaker", "bag", "ankle boot"]

    public let directory: String
    public let train: ImageSet
    public let test: ImageSet

    /// A data set from splits already in memory (tests, synthetic data).
    public init(train: ImageSet, test: ImageSet, directory: String = "(memory)") {
        self.train = train; self.test = test; self.directory = directory
    }

    /// Loads from the first folder that holds all four files, searched in this order:
    /// `dataDir` (--data-dir), `$FASHION_MNIST_DIR`, `data/fashion-mnist/`, the system folder.
    public init(dataDir: String? = nil, trainLimit: Int? = nil, testLimit: Int? = nil) throws {
        let directory = try Self.locate(dataDir: dataDir)
        self.directory = directory
        train = try ImageSet(directory: directory, prefix: "train", limit: trainLimit)
        test = try ImageSet(directory: directory, prefix: "t10k", limit: testLimit)
    }

    /// The candidate folders, in search order.
    public static func searchPath(dataDir: String?) -> [String] {
        var dirs: [String] = []
        if let dataDir { dirs.append(dataDir) }
        if let env = ProcessInfo.processInfo.environment["FASHION_MNIST_DIR"], !env.isEmpty { dirs.append(env) }
        dirs.append("data/fashion-mnist")
        dirs.append(systemDirectory)
        return dirs
    }

    /// The first folder holding all four files; an explicit `dataDir` must hold them itself.
    public static func locate(dataDir: String?) throws -> String {
        var isFolder: ObjCBool = false
        if let dataDir, FileManager.default.fileExists(atPath: dataDir, isDirectory: &isFolder), !isFolder.boolValue {
            throw DataError.unreadable(path: dataDir, reason: "it is a file, not a folder; --data-dir takes the folder that holds the four files")
        }
        let candidates = dataDir.map { [$0] } ?? searchPath(dataDir: nil)
        for dir in candidates where fileNames.allSatisfy({ filePath(dir, $0) != nil }) { return dir }
        throw DataError.notFound(searched: candidates.map { dir in
            let missing = fileNames.filter { filePath(dir, $0) == nil }
            return missing.count == 4 ? "\(dir)  (none of the files)" : "\(dir)  (missing: \(missing.joined(separator: ", ")))"
        })
    }

    /// `name.gz` if present, else plain `name`, else nil.
    static func filePath(_ dir: String, _ name: String) -> String? {
        let base = (dir as NSString).appendingPathComponent(name)
        for p in [base + ".gz", base] where FileManager.default.fileExists(atPath: p) { return p }
        return nil
    }
}

/// One split: images as bytes (count × height × width) and labels 0–9.
public struct ImageSet: Sendable {
    public let pixels: [UInt8]
    public let labels: [Int32]
    public let height: Int
    public let width: Int
    public var count: Int { labels.count }

    public init(pixels: [UInt8], labels: [Int32], height: Int, width: Int) {
        precondition(pixels.count == labels.count * height * width)
        self.pixels = pixels; self.labels = labels; self.height = height; self.width = width
    }

    init(directory: String, prefix: String, limit: Int?) throws {
        let imagePath = FashionMNIST.filePath(directory, "\(prefix)-images-idx3-ubyte")!
        let labelPath = FashionMNIST.filePath(directory, "\(prefix)-labels-idx1-ubyte")!
        let images = try IDXFile(path: imagePath, expectedRank: 3, maxItems: limit)
        let labels = try IDXFile(path: labelPath, expectedRank: 1, maxItems: limit)
        guard images.announced == labels.announced, images.dims[0] == labels.dims[0] else {
            throw DataError.inconsistent(reason: "\(imagePath) has \(images.announced) images but \(labelPath) has \(labels.announced) labels")
        }
        guard images.dims[1] == images.dims[2] else {
            throw DataError.badHeader(path: imagePath, reason: "images are \(images.dims[1])×\(images.dims[2]); square images expected")
        }
        if let bad = labels.bytes.firstIndex(where: { $0 > 9 }) {
            throw DataError.inconsistent(reason: "\(labelPath): label \(labels.bytes[bad]) at index \(bad) is outside 0–9")
        }
        self.init(pixels: images.bytes, labels: labels.bytes.map { Int32($0) }, height: images.dims[1], width: images.dims[2])
    }

    /// The first `n` images (all of them if there are fewer).
    public func prefix(_ n: Int) -> ImageSet {
        let k = Swift.min(Swift.max(n, 0), count)
        return ImageSet(pixels: Array(pixels[..<(k * height * width)]), labels: Array(labels[..<k]), height: height, width: width)
    }

    /// Images `indices` as an (n, 1, size, size) tensor: resized like the book's `Resize(size)`
    /// and divided by 255 like `ToTensor()`.
    public func batch(_ indices: ArraySlice<Int>, resize: BilinearResize) -> (images: Tensor, labels: [Int32]) {
        let s = resize.outSize, hw = height * width
        var data = [Float](repeating: 0, count: indices.count * s * s)
        let idx = Array(indices)
        pixels.withUnsafeBufferPointer { src in data.withUnsafeMutableBufferPointer { dst in
            Parallel.forRanges(idx.count, minPerWorker: s >= 64 ? 8 : 1 << 20) { range in
                var resized = [UInt8](repeating: 0, count: s * s)
                for (i, item) in zip(range, range.map { idx[$0] }) {
                    resized.withUnsafeMutableBufferPointer { r in resize(src.baseAddress! + item * hw, into: r.baseAddress!) }
                    for j in 0..<(s * s) { dst[i * s * s + j] = Float(resized[j]) / 255 }
                }
            }
        }}
        return (Tensor(shape: [idx.count, 1, s, s], data: data), idx.map { labels[$0] })
    }

    /// Mini-batches of indices in file order (evaluation), the last one partial.
    public func batches(size: Int) -> [ArraySlice<Int>] {
        Self.split(Array(0..<count), size)
    }

    /// Mini-batches of indices in a fresh random order (training), the last one partial
    /// (no `drop_last`, as the book).
    public func shuffledBatches(size: Int, using generator: inout SeededGenerator) -> [ArraySlice<Int>] {
        var order = Array(0..<count)
        order.shuffle(using: &generator)
        return Self.split(order, size)
    }

    private static func split(_ order: [Int], _ size: Int) -> [ArraySlice<Int>] {
        stride(from: 0, to: order.count, by: size).map { order[$0..<Swift.min($0 + size, order.count)] }
    }
}
