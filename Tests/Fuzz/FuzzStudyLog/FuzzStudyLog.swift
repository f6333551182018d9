import Experiments
import Foundation
import FuzzDriver

/// libFuzzer target: any bytes as a design-space study log (design-space.jsonl), through the
/// reader 7.8 uses to resume a study and to merge shards.
private let path = NSTemporaryDirectory() + "fuzz-study-\(getpid()).jsonl"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzStudyLog(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes: bytes, count: count)) else { return 0 }
    if let (records, _) = try? StudyLog.read(path) {
        _ = StudyLog.merge([records, records])
    }
    return 0
}

/// The executable's entry point: libFuzzer's driver on `fuzzStudyLog`.
@_cdecl("FuzzStudyLog_main")
func entryPoint(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    runLibFuzzer(argc, argv) { fuzzStudyLog($0, $1) }
}
