import D2L
import Foundation
import FuzzDriver

/// libFuzzer target: any bytes as a safetensors file, through what `--load` and `--resume` do
/// with one: parse the header (offsets, dtypes, shapes, metadata), read every tensor's values,
/// and load the file strictly into a small network with a batch norm (F32 weights, an I64
/// counter). Every input must end in a value or a thrown error: never a crash, a hang or a leak.
nonisolated(unsafe) private var network: Module = {
    let net = Sequential(Conv2d(outChannels: 2, kernel: 3), BatchNorm(), Flatten(), Linear(3))
    _ = try! net(Tensor.zeros([1, 1, 5, 5]))
    return net
}()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzSafeTensors(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    let data = Data(bytes: bytes, count: count)
    guard let file = try? SafeTensors.parse(data, path: "fuzz.safetensors") else { return 0 }
    for entry in file.entries.values {
        _ = file.floats(entry)
        _ = file.integers(entry)
    }
    _ = file.metadata["progress"].flatMap { TrainingProgress(json: $0) }
    _ = try? network.loadState(from: file, path: "fuzz.safetensors")
    return 0
}

/// The executable's entry point: libFuzzer's driver on `fuzzSafeTensors`.
@_cdecl("FuzzSafeTensors_main")
func entryPoint(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc, argv) { fuzzSafeTensors($0, $1) }
}
