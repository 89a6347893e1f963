import RNNRTCore

extension NPY {
    /// The header dict of a `.npy` file: `{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`.
    struct Header {
        let dtype: DType
        let bigEndian: Bool
        let fortranOrder: Bool
        let shape: [Int]

        init(dtype: DType, bigEndian: Bool, fortranOrder: Bool, shape: [Int]) {
            self.dtype = dtype
            self.bigEndian = bigEndian
            self.fortranOrder = fortranOrder
            self.shape = shape
        }

        /// The array these bytes hold under this header (exactly `shape`'s elements of `dtype`), in C order
        /// and host byte order. Shared by `.npy` files and numpy arrays pickled inside checkpoints.
        func storedTensor(_ bytes: [UInt8]) throws -> StoredTensor {
            var data = bytes
            if bigEndian { swapByteOrder(&data, dtype: dtype) }
            if fortranOrder && shape.count > 1, data.count == (shape.checkedElementCount() ?? -1) * dtype.byteSize {
                data = NPY.fortranToC(data, shape: shape, elementSize: dtype.byteSize)
            }
            return try StoredTensor(dtype: dtype, shape: shape, bytes: data)
        }

        /// Parses the Python dict literal numpy writes. Exactly the keys `descr`, `fortran_order` and
        /// `shape`, in any order; anything else is `.malformed` or `.unsupported`.
        init(parsing text: String) throws {
            var p = Parser(Array(text.unicodeScalars))
            var descr: String?, fortran: Bool?, shape: [Int]?
            try p.expect("{")
            while true {
                p.skipSpace()
                if p.consume("}") { break }
                let key = try p.string()
                try p.expect(":")
                switch key {
                case "descr":
                    p.skipSpace()
                    if p.peek == "[" {
                        throw RNNRTError(.unsupported, "npy structured dtypes (descr is a list of fields) are not supported; expected a plain numeric dtype such as '<f4'")
                    }
                    descr = try p.string()
                case "fortran_order": fortran = try p.bool()
                case "shape": shape = try p.intTuple()
                default:
                    throw RNNRTError(.malformed, "npy header has an unexpected key '\(key)'; expected only 'descr', 'fortran_order' and 'shape'")
                }
                p.skipSpace()
                if p.consume(",") { continue }
                try p.expect("}")
                break
            }
            p.skipSpace()
            guard p.atEnd else { throw RNNRTError(.malformed, "npy header has text after the closing '}'") }
            guard let descr, let fortran, let shape else {
                let missing = [("descr", descr == nil), ("fortran_order", fortran == nil), ("shape", shape == nil)]
                    .filter(\.1).map { "'\($0.0)'" }.joined(separator: ", ")
                throw RNNRTError(.malformed, "npy header lacks \(missing)")
            }
            (dtype, bigEndian) = try Header.dtype(fromDescr: descr)
            fortranOrder = fortran
            self.shape = shape
        }

        static func dtype(fromDescr descr: String) throws -> (DType, Bool) {
            var body = Substring(descr)
            var big = false
            if let first = body.first, "<>|=".contains(first) {
                big = first == ">"
                body = body.dropFirst()
            }
            let table: [String: DType] = [
                "f4": .float32, "f8": .float64, "f2": .float16,
                "i8": .int64, "i4": .int32, "i2": .int16, "i1": .int8,
                "u8": .uint64, "u4": .uint32, "u2": .uint16, "u1": .uint8,
                "b1": .bool, "c8": .complex64, "c16": .complex128,
            ]
            guard let dtype = table[String(body)] else {
                let hint = body.hasPrefix("O") ? " (object arrays hold pickles; rnnrt refuses them)" : ""
                throw RNNRTError(.unsupported, "npy dtype '\(descr)' is not supported\(hint); expected float32/64/16, int8–64, uint8–64, bool or complex")
            }
            return (dtype, big)
        }
    }

    /// A tiny cursor over the header's characters.
    private struct Parser {
        let s: [Unicode.Scalar]
        var i = 0
        init(_ s: [Unicode.Scalar]) { self.s = s }

        var atEnd: Bool { i >= s.count }
        var peek: Unicode.Scalar? { i < s.count ? s[i] : nil }

        mutating func skipSpace() {
            while let c = peek, c == " " || c == "\t" || c == "\n" || c == "\r" { i += 1 }
        }

        mutating func consume(_ c: Unicode.Scalar) -> Bool {
            skipSpace()
            guard peek == c else { return false }
            i += 1
            return true
        }

        mutating func expect(_ c: Unicode.Scalar) throws {
            guard consume(c) else {
                throw RNNRTError(.malformed, "npy header: expected '\(c)' at character \(i), found \(peek.map { "'\($0)'" } ?? "the end")")
            }
        }

        mutating func string() throws -> String {
            skipSpace()
            guard let quote = peek, quote == "'" || quote == "\"" else {
                throw RNNRTError(.malformed, "npy header: expected a quoted string at character \(i)")
            }
            i += 1
            var out = String.UnicodeScalarView()
            while let c = peek, c != quote {
                out.append(c)
                i += 1
            }
            guard peek == quote else { throw RNNRTError(.malformed, "npy header: unterminated string") }
            i += 1
            return String(out)
        }

        mutating func bool() throws -> Bool {
            skipSpace()
            for (word, value) in [("True", true), ("False", false)] {
                let w = Array(word.unicodeScalars)
                if i + w.count <= s.count && Array(s[i..<(i + w.count)]) == w {
                    i += w.count
                    return value
                }
            }
            throw RNNRTError(.malformed, "npy header: 'fortran_order' must be True or False")
        }

        mutating func intTuple() throws -> [Int] {
            try expect("(")
            var values: [Int] = []
            while true {
                if consume(")") { return values }
                skipSpace()
                var digits = ""
                if peek == "-" { digits.append("-"); i += 1 }
                while let c = peek, c.properties.numericType != nil, c.isASCII {
                    digits.unicodeScalars.append(c)
                    i += 1
                }
                guard let value = Int(digits) else {
                    throw RNNRTError(.malformed, "npy header: 'shape' must be a tuple of integers, found '\(digits)' at character \(i)")
                }
                guard value >= 0 else {
                    throw RNNRTError(.malformed, "npy header: shape has a negative extent \(value)")
                }
                values.append(value)
                if consume(",") { continue }
                try expect(")")
                return values
            }
        }
    }
}
