import RNNRTCore

/// Comparisons (`Equal`, `Less`, `LessOrEqual`, `Greater`, `GreaterOrEqual`) and logic (`And`, `Or`, `Xor`, `Not`)
/// to bool tensors, and `Where`, with broadcasting.
enum LogicOps {
    static func register(_ r: inout [String: OperatorBuilder]) {
        r["Equal"] = equal
        r["Less"] = less
        r["LessOrEqual"] = lessOrEqual
        r["Greater"] = greater
        r["GreaterOrEqual"] = greaterOrEqual
        r["And"] = and
        r["Or"] = or
        r["Xor"] = xor
        r["Not"] = not
        r["Where"] = `where`
    }

    // MARK: Comparisons

    /// An operator comparing its two inputs broadcast together with `f` (in float when either is float) or `g`.
    static func comparison(_ f: @escaping @Sendable (Float, Float) -> Bool,
                           _ g: @escaping @Sendable (Int64, Int64) -> Bool) -> GraphOperator {
        ClosureOperator { inputs in
            let a = try Check.input(inputs, 0, "A"), b = try Check.input(inputs, 1, "B")
            switch (a.elements, b.elements) {
            case (.float(let x), .float(let y)):
                let (v, s) = try broadcastMap(x, a.shape, y, b.shape, f)
                return [GraphTensor(shape: s, bools: v)]
            case (.float(let x), _):
                let (v, s) = try broadcastMap(x, a.shape, try b.ints("B").map { Float($0) }, b.shape, f)
                return [GraphTensor(shape: s, bools: v)]
            case (_, .float(let y)):
                let (v, s) = try broadcastMap(try a.ints("A").map { Float($0) }, a.shape, y, b.shape, f)
                return [GraphTensor(shape: s, bools: v)]
            default:
                let (v, s) = try broadcastMap(try a.ints("A"), a.shape, try b.ints("B"), b.shape, g)
                return [GraphTensor(shape: s, bools: v)]
            }
        }
    }

    static func equal(_ ctx: OperatorContext) throws -> GraphOperator { comparison({ $0 == $1 }, { $0 == $1 }) }
    static func less(_ ctx: OperatorContext) throws -> GraphOperator { comparison({ $0 < $1 }, { $0 < $1 }) }
    static func lessOrEqual(_ ctx: OperatorContext) throws -> GraphOperator { comparison({ $0 <= $1 }, { $0 <= $1 }) }
    static func greater(_ ctx: OperatorContext) throws -> GraphOperator { comparison({ $0 > $1 }, { $0 > $1 }) }
    static func greaterOrEqual(_ ctx: OperatorContext) throws -> GraphOperator { comparison({ $0 >= $1 }, { $0 >= $1 }) }

    // MARK: Logic

    /// An operator combining its two inputs, read as bools and broadcast together, with `f`.
    static func logic(_ f: @escaping @Sendable (Bool, Bool) -> Bool) -> GraphOperator {
        ClosureOperator { inputs in
            let a = try Check.input(inputs, 0, "A"), b = try Check.input(inputs, 1, "B")
            let (v, s) = try broadcastMap(try bools(a, "A"), a.shape, try bools(b, "B"), b.shape, f)
            return [GraphTensor(shape: s, bools: v)]
        }
    }

    static func and(_ ctx: OperatorContext) throws -> GraphOperator { logic { $0 && $1 } }
    static func or(_ ctx: OperatorContext) throws -> GraphOperator { logic { $0 || $1 } }
    static func xor(_ ctx: OperatorContext) throws -> GraphOperator { logic { $0 != $1 } }

    static func not(_ ctx: OperatorContext) throws -> GraphOperator {
        ClosureOperator { inputs in
            let x = try Check.input(inputs, 0, "X")
            return [GraphTensor(shape: x.shape, bools: try bools(x, "X").map { !$0 })]
        }
    }

    // MARK: Where

    static func `where`(_ ctx: OperatorContext) throws -> GraphOperator {
        ClosureOperator { inputs in
            let c = try Check.input(inputs, 0, "condition"), x = try Check.input(inputs, 1, "X"), y = try Check.input(inputs, 2, "Y")
            let cond = try bools(c, "condition")
            let shape = try broadcastShape(try broadcastShape(c.shape, x.shape), y.shape)
            let n = shape.reduce(1, *)
            func pick<T: BitwiseCopyable>(_ a: [T], _ b: [T]) -> [T] {
                outputArray(n) { out in
                    forEachBroadcast(shape, c.shape, x.shape, y.shape) { i, jc, jx, jy in out[i] = cond[jc] ? a[jx] : b[jy] }
                }
            }
            switch (x.elements, y.elements) {
            case (.float(let a), .float(let b)): return [GraphTensor(shape: shape, floats: pick(a, b))]
            case (.bool(let a), .bool(let b)): return [GraphTensor(shape: shape, bools: pick(a, b))]
            default: return [GraphTensor(shape: shape, ints: pick(try x.ints("X"), try y.ints("Y")))]
            }
        }
    }

    /// A tensor's elements as bools (numbers: non-zero is true).
    static func bools(_ t: GraphTensor, _ what: String) throws -> [Bool] {
        switch t.elements {
        case .bool(let v): return v
        case .int(let v): return v.map { $0 != 0 }
        case .float(let v): return v.map { $0 != 0 }
        }
    }
}
