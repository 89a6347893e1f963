import CFuzzDriver
import Foundation
import RNNRT

/// Runs one fuzz input through `body`: an `RNNRTError` is the contract kept (bad input refused); any other error
/// breaks it and stops the fuzzer, as a trap would.
public func expectTypedErrors(_ body: () throws -> Void) {
    do {
        try body()
    } catch is RNNRTError {
    } catch {
        fatalError("untyped error: \(error)")
    }
}

/// At most `limit`: sizes a fuzz input declares are clamped before the harness allocates by them.
public func small(_ n: Int, _ limit: Int = 4) -> Int { max(0, min(n, limit)) }

/// Hands the process to libFuzzer with `callback` as the harness: what each harness's `main` does (SwiftPM links
/// every executable with a `main` of its own, so libFuzzer's is not used).
public func runFuzzer(_ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> Never {
    var argc = CommandLine.argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv, callback))
}
