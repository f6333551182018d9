/// Runs libFuzzer's driver on `fuzz` (the target's `LLVMFuzzerTestOneInput`): it parses
/// libFuzzer's flags from the command line and runs the fuzzing loop. Each fuzz target calls
/// this from its entry point, which SwiftPM names `<module>_main`.
public func runLibFuzzer(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>,
                         _ fuzz: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> CInt {
    var count = argc, arguments = argv
    return LLVMFuzzerRunDriver(&count, &arguments, fuzz)
}

@_silgen_name("LLVMFuzzerRunDriver")
private func LLVMFuzzerRunDriver(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
                                 _ callback: @convention(c) (UnsafePointer<UInt8>, Int) -> CInt) -> CInt
