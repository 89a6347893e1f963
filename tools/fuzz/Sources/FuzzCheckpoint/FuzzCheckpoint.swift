import Foundation
import FuzzSupport
import RNNRT

/// The file each input is written to (checkpoints are read from files: zip archives are mapped, not decoded from
/// bytes), one per process: in memory (/dev/shm) where there is one, so no input waits for a disk.
let path = (FileManager.default.fileExists(atPath: "/dev/shm") ? URL(fileURLWithPath: "/dev/shm")
            : FileManager.default.temporaryDirectory).appendingPathComponent("rnnrt-fuzz-checkpoint-\(getpid())").path

@main struct FuzzCheckpointMain {
    static func main() { runFuzzer(fuzzCheckpoint) }
}

/// One checkpoint per input, in any format `StateDict(contentsOf:)` detects: read, every recurrent module in it (at
/// most 3) bound, and each run forward over a 2-step sequence of batch 1 (input sizes up to 512).
func fuzzCheckpoint(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    guard FileManager.default.createFile(atPath: path, contents: data.map { Data(bytes: $0, count: size) } ?? Data()) else {
        fatalError("cannot write \(path)")
    }
    expectTypedErrors {
        let stateDict = try StateDict(contentsOf: URL(fileURLWithPath: path))
        for prefix in RecurrentConfiguration.modulePrefixes(in: stateDict).prefix(3) {
            let module = try RecurrentModule(stateDict: stateDict, prefix: prefix)
            let inputSize = module.configuration.inputSize
            guard inputSize <= 512 else { continue }
            let x = Tensor(shape: [2, 1, inputSize], scalars: (0..<(2 * inputSize)).map { Float($0 % 5) * 0.1 })
            _ = try module.forward(x)
        }
    }
    return 0
}
