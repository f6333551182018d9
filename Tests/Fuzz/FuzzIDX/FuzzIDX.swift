import D2L
import Foundation
import FuzzDriver

/// libFuzzer target: any bytes as a Fashion-MNIST file, gzipped or plain, through the reader
/// the chapters use (`IDXFile`, behind zlib), as an image file and as a label file, whole and
/// with a limit on the items read.
private let path = NSTemporaryDirectory() + "fuzz-idx-\(getpid())"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzIDX(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes: bytes, count: count)) else { return 0 }
    for rank in [3, 1] {
        for limit in [nil, 2] as [Int?] {
            if let f = try? IDXFile(path: path, expectedRank: rank, maxItems: limit) {
                precondition(f.bytes.count == f.dims.reduce(1, *) && f.dims.count == rank)
            }
        }
    }
    return 0
}

/// The executable's entry point: libFuzzer's driver on `fuzzIDX`.
@_cdecl("FuzzIDX_main")
func entryPoint(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc, argv) { fuzzIDX($0, $1) }
}
