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

    /// True when the integer products run on AVX-512 VNNI on 256-bit registers (vpdpbusd on uint8 × int8, vpdpwssd
    /// on int16 pairs) instead of AVX2's vpmaddwd and vpaddd: the AVX2 kernels are used and the CPU has AVX-512 VNNI
    /// and VL.
    /// `RNNRT_NO_AVX512=1` keeps AVX2's.
    package static let avx512vnni: Bool = {
        if let forced = getenv("RNNRT_NO_AVX512"), String(cString: forced) == "1" { return false }
        return avx2 && rnnrt_has_avx512_vnni() != 0
    }()
}

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif
