import RNNRTCore

/// ONNX `Einsum` on float tensors: explicit (`ij,jk->ik`) and implicit (`ij,jk`: the letters that appear once, in
/// alphabetical order, after the ellipsis axes) outputs, `...` with NumPy broadcasting, letters repeated within one
/// operand (a diagonal: `ii->i`, `ii`), summed letters, any number of operands; size-1 axes broadcast against their
/// letter's size in the other operands.
///
/// Each operand first loses the letters no other operand and not the output names (summed, diagonals taken); then the
/// operands are contracted left to right, each pair as one batched matrix product (`LinearAlgebraOps.matmul`) of
/// `[batch, m, k] · [batch, k, n]`: the letters of both that are still needed are the batch, the others of both `k`,
/// and each operand's own letters `m` and `n`. An operand already in that order is multiplied as it is (`bij,bjk->bik`,
/// `bnd,dh->bnh`), others are copied into it once. The last product is permuted into the output's order.
struct EinsumOp: GraphOperator {
    let label: String
    let equation: EinsumEquation

    init(context ctx: OperatorContext) throws {
        label = ctx.node.label
        equation = try EinsumEquation(try ctx.node.string("equation", default: ""), label)
        guard equation.terms.count == ctx.node.inputs.count else {
            throw RNNRTError(.malformed, "\(label): equation '\(equation.text)' has \(equation.terms.count) operands but the node has \(ctx.node.inputs.count) inputs")
        }
    }

    func run(_ inputs: [GraphTensor?]) throws -> [GraphTensor] {
        let operands = try equation.terms.indices.map { i in
            let t = try Check.input(inputs, i, "Inputs[\(i)]")
            _ = try Check.elementCount(t.shape, "\(label): operand \(i)", elementSize: 0)
            return t
        }
        let bound = try equation.bind(operands.map(\.shape), label)
        var pieces = try operands.indices.map { i in
            try EinsumPiece.reduced(operands[i], labels: bound.operandLabels[i], keeping: bound.neededBesides(i),
                                    order: operands.count == 1 ? bound.outputLabels : nil, label)
        }
        var acc = pieces.removeFirst()
        for (offset, next) in pieces.enumerated() {
            let keep = bound.neededFrom(offset + 2)
            let product = try EinsumPiece.contract(acc, next, keeping: keep, label)
            acc.recycle()
            next.recycle()
            acc = product
        }
        let result = try acc.permuted(to: bound.outputLabels, sizes: bound.sizes, label)
        if result.owned { acc.recycle() }
        return [GraphTensor(shape: result.shape, floats: result.values)]
    }
}

/// An equation as written: per operand its subscripts, and the output's when given (after `->`). Letters are numbered
/// in ASCII order (`A`–`Z` as 0–25, `a`–`z` as 26–51), so sorting the numbers sorts the letters.
struct EinsumEquation: Sendable {
    enum Subscript: Equatable, Sendable {
        case letter(Int)
        case ellipsis
    }

    let text: String
    let terms: [[Subscript]]
    let output: [Subscript]?

    /// The first label of the ellipsis axes (labels above it are ellipsis axes, left to right).
    static let ellipsisBase = 52

    init(_ equation: String, _ label: String) throws {
        text = equation
        let compact = equation.filter { $0 != " " }
        let sides = compact.components(separatedBy: "->")
        guard !compact.isEmpty, sides.count <= 2 else {
            throw RNNRTError(.malformed, "\(label): equation '\(equation)' must be 'terms' or 'terms->output' with one '->'")
        }
        terms = try sides[0].split(separator: ",", omittingEmptySubsequences: false).map {
            try EinsumEquation.subscripts(String($0), equation, label)
        }
        output = try sides.count == 2 ? EinsumEquation.subscripts(sides[1], equation, label) : nil
        if let output { try checkOutput(output, label) }
    }

    private static func subscripts(_ term: String, _ equation: String, _ label: String) throws -> [Subscript] {
        var result: [Subscript] = []
        var rest = Substring(term)
        while let c = rest.first {
            if rest.hasPrefix("...") {
                guard !result.contains(.ellipsis) else {
                    throw RNNRTError(.malformed, "\(label): equation '\(equation)': term '\(term)' has more than one '...'")
                }
                result.append(.ellipsis)
                rest = rest.dropFirst(3)
                continue
            }
            guard let ascii = c.asciiValue, c.isLetter else {
                throw RNNRTError(.malformed, "\(label): equation '\(equation)': '\(c)' is not a letter, ',', '...' or '->'")
            }
            result.append(.letter(c.isUppercase ? Int(ascii) - 65 : Int(ascii) - 97 + 26))
            rest = rest.dropFirst()
        }
        return result
    }

    private func checkOutput(_ output: [Subscript], _ label: String) throws {
        for (i, s) in output.enumerated() {
            guard !output[..<i].contains(s) else {
                throw RNNRTError(.malformed, "\(label): equation '\(text)': the output names a subscript twice")
            }
            if case .letter = s, !terms.contains(where: { $0.contains(s) }) {
                throw RNNRTError(.malformed, "\(label): equation '\(text)': an output letter appears in no operand")
            }
        }
    }

    /// Labels and sizes for operands of these shapes.
    func bind(_ shapes: [[Int]], _ label: String) throws -> EinsumBinding {
        let ellipsisRanks = try zip(terms, shapes).map { term, shape in
            let letters = term.filter { $0 != .ellipsis }.count
            let hasEllipsis = term.contains(.ellipsis)
            guard hasEllipsis ? shape.count >= letters : shape.count == letters else {
                throw RNNRTError(.shapeMismatch, "\(label): equation '\(text)': an operand of shape \(shape.shapeDescription) for subscripts of \(letters) letters\(hasEllipsis ? " and '...'" : "")")
            }
            return shape.count - letters
        }
        let ellipsisRank = ellipsisRanks.max() ?? 0
        var operandLabels: [[Int]] = []
        for (term, rank) in zip(terms, ellipsisRanks) {
            operandLabels.append(term.flatMap { s -> [Int] in
                guard case .letter(let l) = s else { return (0..<rank).map { EinsumEquation.ellipsisBase + ellipsisRank - rank + $0 } }
                return [l]
            })
        }
        let outputLabels = try self.outputLabels(ellipsisRank: ellipsisRank, label)
        let sizes = try EinsumEquation.sizes(operandLabels, shapes, "\(label): equation '\(text)'")
        _ = try Check.elementCount(outputLabels.map { sizes[$0] ?? 1 }, "\(label): output")
        return EinsumBinding(operandLabels: operandLabels, outputLabels: outputLabels, sizes: sizes)
    }

    /// The output's labels: as written (`...` standing for the `ellipsisRank` ellipsis axes), or when implicit the
    /// ellipsis axes, then the letters that appear once, in ASCII order.
    private func outputLabels(ellipsisRank: Int, _ label: String) throws -> [Int] {
        let ellipsisLabels = (0..<ellipsisRank).map { EinsumEquation.ellipsisBase + $0 }
        guard let output else {
            let letters = terms.joined().compactMap { s -> Int? in if case .letter(let l) = s { return l } else { return nil } }
            return ellipsisLabels + Set(letters).filter { l in letters.filter { $0 == l }.count == 1 }.sorted()
        }
        guard output.contains(.ellipsis) || ellipsisRank == 0 else {
            throw RNNRTError(.shapeMismatch, "\(label): equation '\(text)': '...' stands for \(ellipsisRank) axes but the output has no '...'")
        }
        return output.flatMap { s -> [Int] in
            guard case .letter(let l) = s else { return ellipsisLabels }
            return [l]
        }
    }

    /// Each label's size: equal wherever it appears within one operand (a diagonal), broadcast (1 against n) across
    /// operands.
    private static func sizes(_ labels: [[Int]], _ shapes: [[Int]], _ what: String) throws -> [Int: Int] {
        var sizes: [Int: Int] = [:]
        for (operand, (ls, shape)) in zip(labels, shapes).enumerated() {
            var own: [Int: Int] = [:]
            for (l, d) in zip(ls, shape) {
                if let seen = own[l], seen != d {
                    throw RNNRTError(.shapeMismatch, "\(what): operand \(operand) \(shape.shapeDescription) repeats a subscript over axes of sizes \(seen) and \(d)")
                }
                own[l] = d
            }
            for (l, d) in own {
                guard let seen = sizes[l], seen != d else { sizes[l] = d; continue }
                guard seen == 1 || d == 1 else {
                    throw RNNRTError(.shapeMismatch, "\(what): a subscript has size \(seen) in one operand and \(d) in operand \(operand) \(shape.shapeDescription)")
                }
                sizes[l] = seen == 1 ? d : seen
            }
        }
        return sizes
    }
}

/// An equation bound to its operands' shapes: every axis's label, the output's labels and each label's size.
struct EinsumBinding {
    let operandLabels: [[Int]]
    let outputLabels: [Int]
    let sizes: [Int: Int]

    /// The labels the output or any operand other than `operand` names.
    func neededBesides(_ operand: Int) -> Set<Int> {
        var needed = Set(outputLabels)
        for (i, ls) in operandLabels.enumerated() where i != operand { needed.formUnion(ls) }
        return needed
    }

    /// The labels the output or the operands from `first` on name.
    func neededFrom(_ first: Int) -> Set<Int> {
        Set(outputLabels).union(operandLabels.dropFirst(first).joined())
    }
}

/// An intermediate operand: values in C order over distinct labels.
struct EinsumPiece {
    var values: [Float]
    var labels: [Int]
    var shape: [Int]
    /// Whether `values` were computed here (and may go back to the arena), not an input's.
    var owned = false

    func recycle() {
        if owned { recycleIntermediate(GraphTensor(shape: [values.count], floats: values)) }
    }

    /// `x` with the labels outside `keeping` summed out and repeated labels reduced to their diagonal, in the order of
    /// first appearance (or `order`, which must list exactly the kept labels).
    static func reduced(_ x: GraphTensor, labels: [Int], keeping: Set<Int>, order: [Int]?, _ what: String) throws -> EinsumPiece {
        let values = try x.floats("\(what) operand")
        var distinct: [Int] = []
        for l in labels where !distinct.contains(l) { distinct.append(l) }
        let kept = order ?? distinct.filter { keeping.contains($0) }
        let piece = EinsumPiece(values: values, labels: labels, shape: x.shape)
        if kept == labels { return piece }
        let summed = distinct.filter { !kept.contains($0) }
        return try piece.gathered(kept, summing: summed, sizes: nil, what)
    }

    /// The label's size here, and the stride that steps it (the sum of its axes' strides: a diagonal); 0 for a label
    /// this piece lacks or has at size 1 where `size` is larger (broadcast).
    private func axis(_ label: Int, size: Int?) -> (size: Int, stride: Int) {
        let strides = shape.strides
        var own = 1, stride = 0
        for (i, l) in labels.enumerated() where l == label {
            own = shape[i]
            stride += strides[i]
        }
        guard let size, size != own else { return (own, stride) }
        return (size, 0)
    }

    /// A new piece over `kept` (in that order), each element the sum over the `summed` labels; `sizes` broadcasts
    /// size-1 axes to the sizes it gives.
    func gathered(_ kept: [Int], summing summed: [Int], sizes: [Int: Int]?, _ what: String) throws -> EinsumPiece {
        let keptAxes = kept.map { axis($0, size: sizes?[$0]) }
        let summedAxes = summed.map { axis($0, size: nil) }
        let shape = keptAxes.map(\.size)
        let count = try Check.elementCount(shape, "\(what): intermediate")
        let out = outputFloats(count) { out in
            values.withUnsafeBufferPointer { source in
                if summedAxes.isEmpty, count > 0 {
                    // A rearrangement: copied run by run.
                    stridedCopy(source, shape: shape, strides: keptAxes.map(\.stride), offset: 0, into: out.baseAddress!)
                } else {
                    EinsumPiece.sum(source, keptAxes, summedAxes, into: out)
                }
            }
        }
        return EinsumPiece(values: out, labels: kept, shape: shape, owned: true)
    }

    /// `out[p] = Σ source[offset(p) + offset(s)]` over the positions `s` of `summed`, `p` over `kept` in C order.
    private static func sum(_ source: UnsafeBufferPointer<Float>, _ kept: [(size: Int, stride: Int)],
                            _ summed: [(size: Int, stride: Int)], into out: UnsafeMutableBufferPointer<Float>) {
        var p = 0
        forEachOffset(kept) { base in
            var total: Float = 0
            forEachOffset(summed) { total += source[base + $0] }
            out[p] = total
            p += 1
        }
    }

    /// Calls `body` with the offset of every position of `axes` in C order (once, with 0, for no axes).
    private static func forEachOffset(_ axes: [(size: Int, stride: Int)], _ body: (Int) -> Void) {
        guard axes.allSatisfy({ $0.size > 0 }) else { return }
        var index = [Int](repeating: 0, count: axes.count)
        var offset = 0
        while true {
            body(offset)
            var a = axes.count - 1
            while a >= 0 {
                index[a] += 1
                offset += axes[a].stride
                if index[a] < axes[a].size { break }
                offset -= axes[a].stride * axes[a].size
                index[a] = 0
                a -= 1
            }
            if a < 0 { return }
        }
    }

    /// This piece over `order` with `sizes`' sizes: a copy (owned) when the order or a size differs, else these values
    /// (not owned by the result).
    func permuted(to order: [Int], sizes: [Int: Int], _ what: String) throws -> EinsumPiece {
        let targetShape = order.map { sizes[$0] ?? 1 }
        if order == labels && targetShape == shape { return EinsumPiece(values: values, labels: labels, shape: shape) }
        return try gathered(order, summing: [], sizes: sizes, what)
    }

    /// `a` and `b` contracted over the labels both name and `keeping` does not; the labels both name that `keeping`
    /// names are the batch.
    static func contract(_ a: EinsumPiece, _ b: EinsumPiece, keeping: Set<Int>, _ what: String) throws -> EinsumPiece {
        let shared = a.labels.filter { b.labels.contains($0) }
        let batch = shared.filter { keeping.contains($0) }, k = shared.filter { !keeping.contains($0) }
        let m = a.labels.filter { !b.labels.contains($0) }, n = b.labels.filter { !a.labels.contains($0) }
        var sizes: [Int: Int] = [:]
        for (l, d) in zip(a.labels, a.shape) { sizes[l] = d }
        for (l, d) in zip(b.labels, b.shape) where sizes[l] ?? 1 == 1 { sizes[l] = d }
        func extent(_ ls: [Int]) throws -> Int { try Check.elementCount(ls.map { sizes[$0] ?? 1 }, "\(what): intermediate") }
        let (nb, nm, nk, nn) = (try extent(batch), try extent(m), try extent(k), try extent(n))
        let pa = try a.permuted(to: batch + m + k, sizes: sizes, what)
        let pb = try b.permuted(to: batch + k + n, sizes: sizes, what)
        let product = try LinearAlgebraOps.matmul(GraphTensor(shape: [nb, nm, nk], floats: pa.values),
                                                  GraphTensor(shape: [nb, nk, nn], floats: pb.values))
        pa.recycle()
        pb.recycle()
        let labels = batch + m + n
        return EinsumPiece(values: product.floatsUnchecked, labels: labels, shape: labels.map { sizes[$0] ?? 1 }, owned: true)
    }
}
