import FuzzSupport
import RNNRT

@main struct FuzzNPYMain {
    static func main() { runFuzzer(fuzzNPY) }
}

/// One .npy file per input: decoded, then converted as `run` converts its inputs (to float32, and to a graph value).
func fuzzNPY(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: data == nil ? 0 : size))
    expectTypedErrors {
        let stored = try NPY.decode(bytes)
        _ = try GraphTensor(stored)
        _ = try stored.floatTensor()
    }
    return 0
}
