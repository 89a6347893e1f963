import FuzzSupport
import RNNRT

@main struct FuzzONNXMain {
    static func main() { runFuzzer(fuzzONNX) }
}

/// One ONNX model per input: decoded, planned, and run on small inputs made from its declared inputs (fixed
/// dimensions clamped to 1...3, symbolic ones 2, or 0 for one input size in five so empty tensors run too; floats,
/// small integers 0...2 that index most axes, bools), on one thread under a memory and a time limit well inside
/// libFuzzer's (`limits`): a model that asks for more must stop with `.limit`. A run that succeeds with small outputs
/// runs again on the same inputs, taking what the plan computes from the inputs' shapes from the first run: it must
/// succeed too, with the same outputs bit for bit. (Large outputs are not run again: both runs' outputs and the
/// buffers the plan keeps for its next run would be held at once, past run.sh's memory limit under AddressSanitizer.)
func fuzzONNX(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
    let bytes = Array(UnsafeBufferPointer(start: data, count: data == nil ? 0 : size))
    expectTypedErrors {
        let plan = try Plan(model: try ONNXModelFile.decode(bytes, modelDirectory: nil), options: limits)
        var feeds: [String: GraphTensor] = [:]
        for info in plan.runtimeInputs { feeds[info.name] = sampleInput(info, symbolic: size % 5 == 0 ? 0 : 2) }
        let first = try plan.run(feeds)
        guard first.reduce(0, { $0 + $1.tensor.count }) <= 1 << 16 else { return }
        let again: [(name: String, tensor: GraphTensor)]
        do {
            again = try plan.run(feeds)
        } catch let error as RNNRTError where error.kind == .limit {
            return  // the time limit may fall anywhere in a run
        } catch {
            fatalError("a second run on the same inputs failed where the first succeeded: \(error)")
        }
        guard again.map(\.name) == first.map(\.name),
              zip(again, first).allSatisfy({ bits($0.tensor) == bits($1.tensor) }) else {
            fatalError("a second run on the same inputs gave other outputs")
        }
    }
    return 0
}

/// A tensor's shape, element kind and elements as bits (NaNs compare by their bits).
func bits(_ t: GraphTensor) -> [Int64] {
    switch t.elements {
    case .float(let v): return t.shape.map(Int64.init) + [0] + v.map { Int64($0.bitPattern) }
    case .int(let v): return t.shape.map(Int64.init) + [1] + v
    case .bool(let v): return t.shape.map(Int64.init) + [2] + v.map { $0 ? 1 : 0 }
    }
}

/// 256 MiB and 1 s: an eighth of run.sh's memory limit and a twentieth of its time-out (a model that loops or
/// computes until a limit stops it costs the campaign at most a second). The memory limit leaves room
/// for what the process holds besides one run: AddressSanitizer keeps freed blocks in quarantine and its allocator
/// keeps the pages, so a run that uses its whole budget raises the process's resident size by more than the budget.
let limits = RunOptions(threads: 1, memoryLimit: 256 << 20, timeLimit: 1)

/// A small input of `info`'s declared rank and element kind, `symbolic` the extent of each symbolic dimension.
func sampleInput(_ info: GraphValueInfo, symbolic: Int) -> GraphTensor {
    let shape = (info.shape ?? []).prefix(6).map { dim -> Int in
        if case .fixed(let n) = dim { return max(1, small(n, 3)) }
        return symbolic
    }
    let n = shape.reduce(1, *)
    switch info.elementType {
    case 9: return GraphTensor(shape: shape, bools: (0..<n).map { $0 % 2 == 0 })
    case 2, 3, 4, 5, 6, 7, 12, 13: return GraphTensor(shape: shape, ints: (0..<n).map { Int64($0 % 3) })
    default: return GraphTensor(shape: shape, floats: (0..<n).map { Float($0 % 7) * 0.25 - 0.5 })
    }
}
