import CRNNRTKernels

/// Which kernel implementations this CPU runs, decided once: the AVX2/FMA C kernels (`CRNNRTKernels`,
/// compiled per function for those instructions, so the package needs no global compiler flags) where
/// the CPU has them, else the portable Swift SIMD kernels.
package enum KernelSet {
    /// True when the AVX2/FMA kernels are used. `RNNRT_PORTABLE_KERNELS=1` forces the portable ones.
    package static let avx2: Bool = {
        if let forced = getenv("RNNRT_PORTABLE_KERNELS"), String(cString: forced) == "1" { return false }
        return rnnrt_has_avx2_fma() != 0
    }()
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
