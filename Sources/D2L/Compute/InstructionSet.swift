/// Which vector instructions our own kernels were compiled for (Package.swift chooses: AVX2 and
/// FMA where the building machine's CPU has them, else the architecture's baseline). The GEMMs
/// are OpenBLAS's, which picks its kernels at run time (`BLASInfo.coreName`).
public enum InstructionSet {
    /// "AVX2+FMA" or "baseline": for the banner and the benchmark's JSON.
    public static var kernels: String {
        #if D2L_AVX2
        "AVX2+FMA"
        #else
        "baseline"
        #endif
    }

    /// One line for a run's banner: what computes the products and the rest.
    public static var description: String {
        "GEMM: OpenBLAS \(BLASInfo.coreName) · our kernels: \(kernels)"
    }
}
