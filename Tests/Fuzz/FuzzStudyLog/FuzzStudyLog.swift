import Experiments
import Foundation

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

/// The executable's entry point (SwiftPM names it `<module>_main`): libFuzzer's driver, which
/// parses libFuzzer's flags and runs the fuzzing loop on `fuzzStudyLog`.
@_cdecl("FuzzStudyLog_main")
func entryPoint(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var count = argc, arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments) { fuzzStudyLog($0, $1) }
}

@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                         _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> CInt
