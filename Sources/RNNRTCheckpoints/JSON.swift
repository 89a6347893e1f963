import RNNRTCore

/// A JSON value as a strict RFC 8259 parse gives it (used for safetensors headers).
///
/// Objects keep their members in document order, duplicates included, so callers can refuse them.
/// Integer literals (no fraction, no exponent) are kept exactly as sign and 64-bit magnitude, so every
/// `UInt64` and every `Int64` survives; other numbers are the nearest `Double`.
enum JSONValue: Sendable, Equatable {
    case null
    case bool(Bool)
    /// An integer literal whose magnitude fits in 64 bits. `-0` is `negative: true, magnitude: 0`.
    case integer(negative: Bool, magnitude: UInt64)
    /// A literal with a fraction or an exponent, or an integer too large for 64 bits.
    case number(Double)
    case string(String)
    case array([JSONValue])
    /// Members in document order; a key may appear more than once.
    case object([(key: String, value: JSONValue)])

    /// Deepest nesting of arrays and objects accepted (the top-level container is depth 1).
    static let maxDepth = 64

    /// Parses one JSON text: optional whitespace, one value, optional whitespace, nothing else.
    /// - Throws: `.malformed` naming the byte offset, what was expected and what was found.
    static func parse(_ bytes: [UInt8]) throws -> JSONValue {
        var parser = JSONParser(bytes: bytes)
        return try parser.parseDocument()
    }

    /// The value as a `UInt64` when it is a non-negative integer literal (`-0` is not).
    var uint64Value: UInt64? {
        if case let .integer(negative, magnitude) = self, !negative { return magnitude }
        return nil
    }

    /// The value as an `Int64` when it is an integer literal in range.
    var int64Value: Int64? {
        guard case let .integer(negative, magnitude) = self else { return nil }
        if !negative { return magnitude <= UInt64(Int64.max) ? Int64(magnitude) : nil }
        if magnitude <= UInt64(Int64.max) { return -Int64(magnitude) }
        return magnitude == UInt64(Int64.max) + 1 ? Int64.min : nil
    }

    /// A short description for messages: `the string "F32"`, `the integer -2`, `an array of 3 values`.
    var summary: String {
        switch self {
        case .null: return "null"
        case .bool(let b): return b ? "true" : "false"
        case let .integer(negative, magnitude): return "the integer \(negative ? "-" : "")\(magnitude)"
        case .number(let d): return "the number \(d)"
        case .string(let s):
            let shown = s.count > 40 ? String(s.prefix(40)) + "…" : s
            return "the string \"\(shown)\""
        case .array(let a): return a.count == 1 ? "an array of 1 value" : "an array of \(a.count) values"
        case .object(let o): return o.count == 1 ? "an object with 1 member" : "an object with \(o.count) members"
        }
    }

    static func == (lhs: JSONValue, rhs: JSONValue) -> Bool {
        switch (lhs, rhs) {
        case (.null, .null): return true
        case let (.bool(a), .bool(b)): return a == b
        case let (.integer(na, ma), .integer(nb, mb)): return na == nb && ma == mb
        case let (.number(a), .number(b)): return a == b
        case let (.string(a), .string(b)): return a == b
        case let (.array(a), .array(b)): return a == b
        case let (.object(a), .object(b)):
            return a.count == b.count && zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
        default: return false
        }
    }
}

/// UTF-8 well-formedness (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF).
enum UTF8Check {
    /// The length of the well-formed sequence starting at `i`, or nil if none starts there.
    static func sequenceLength(_ bytes: [UInt8], at i: Int) -> Int? {
        guard i >= 0, i < bytes.count else { return nil }
        let b0 = bytes[i]
        func cont(_ k: Int, _ range: ClosedRange<UInt8> = 0x80...0xBF) -> Bool {
            i + k < bytes.count && range.contains(bytes[i + k])
        }
        switch b0 {
        case 0x00...0x7F: return 1
        case 0xC2...0xDF: return cont(1) ? 2 : nil
        case 0xE0: return cont(1, 0xA0...0xBF) && cont(2) ? 3 : nil
        case 0xE1...0xEC, 0xEE...0xEF: return cont(1) && cont(2) ? 3 : nil
        case 0xED: return cont(1, 0x80...0x9F) && cont(2) ? 3 : nil
        case 0xF0: return cont(1, 0x90...0xBF) && cont(2) && cont(3) ? 4 : nil
        case 0xF1...0xF3: return cont(1) && cont(2) && cont(3) ? 4 : nil
        case 0xF4: return cont(1, 0x80...0x8F) && cont(2) && cont(3) ? 4 : nil
        default: return nil
        }
    }

    /// The offset of the first byte that does not start a well-formed sequence, or nil if all is UTF-8.
    static func firstInvalidOffset(_ bytes: [UInt8]) -> Int? {
        var i = 0
        while i < bytes.count {
            if bytes[i] < 0x80 { i += 1; continue }
            guard let n = sequenceLength(bytes, at: i) else { return i }
            i += n
        }
        return nil
    }
}

/// Recursive descent over bytes; recursion depth is bounded by `JSONValue.maxDepth`.
private struct JSONParser {
    let bytes: [UInt8]
    var position = 0

    init(bytes: [UInt8]) {
        self.bytes = bytes
    }

    mutating func parseDocument() throws -> JSONValue {
        skipWhitespace()
        let value = try parseValue(depth: 0)
        skipWhitespace()
        guard position == bytes.count else {
            throw failure("expected the end of the JSON text after the top-level value, found \(found())")
        }
        return value
    }

    // MARK: - Values

    private mutating func parseValue(depth: Int) throws -> JSONValue {
        guard let byte = peek() else {
            throw failure("expected a JSON value (object, array, string, number, true, false or null), found the end of the text")
        }
        switch byte {
        case UInt8(ascii: "{"):
            try enter(depth)
            return try parseObject(depth: depth + 1)
        case UInt8(ascii: "["):
            try enter(depth)
            return try parseArray(depth: depth + 1)
        case UInt8(ascii: "\""):
            return .string(try parseString())
        case UInt8(ascii: "t"):
            try literal("true")
            return .bool(true)
        case UInt8(ascii: "f"):
            try literal("false")
            return .bool(false)
        case UInt8(ascii: "n"):
            try literal("null")
            return .null
        case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try parseNumber()
        default:
            throw failure("expected a JSON value (object, array, string, number, true, false or null), found \(found())")
        }
    }

    private func enter(_ depth: Int) throws {
        guard depth < JSONValue.maxDepth else {
            throw failure("expected at most \(JSONValue.maxDepth) levels of nested arrays and objects, found deeper nesting")
        }
    }

    private mutating func parseObject(depth: Int) throws -> JSONValue {
        position += 1  // {
        var members: [(key: String, value: JSONValue)] = []
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            position += 1
            return .object(members)
        }
        while true {
            guard peek() == UInt8(ascii: "\"") else {
                let what = members.isEmpty ? "a string key or '}'" : "a string key after ','"
                throw failure("expected \(what) in an object, found \(found())")
            }
            let key = try parseString()
            skipWhitespace()
            guard peek() == UInt8(ascii: ":") else {
                throw failure("expected ':' after the object key \"\(key)\", found \(found())")
            }
            position += 1
            skipWhitespace()
            let value = try parseValue(depth: depth)
            members.append((key, value))
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","):
                position += 1
                skipWhitespace()
            case UInt8(ascii: "}"):
                position += 1
                return .object(members)
            default:
                throw failure("expected ',' or '}' after an object member, found \(found())")
            }
        }
    }

    private mutating func parseArray(depth: Int) throws -> JSONValue {
        position += 1  // [
        var items: [JSONValue] = []
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            position += 1
            return .array(items)
        }
        while true {
            if peek() == UInt8(ascii: "]") {
                throw failure("expected a value after ',' in an array, found ']'")
            }
            items.append(try parseValue(depth: depth))
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","):
                position += 1
                skipWhitespace()
            case UInt8(ascii: "]"):
                position += 1
                return .array(items)
            default:
                throw failure("expected ',' or ']' after an array value, found \(found())")
            }
        }
    }

    private mutating func literal(_ word: String) throws {
        let start = position
        for expected in word.utf8 {
            guard peek() == expected else {
                position = start
                throw failure("expected '\(word)', found \(found(upTo: word.utf8.count))")
            }
            position += 1
        }
    }

    // MARK: - Strings

    private mutating func parseString() throws -> String {
        position += 1  // opening quote
        var utf8: [UInt8] = []
        while true {
            guard let byte = peek() else {
                throw failure("expected '\"' to close the string, found the end of the text")
            }
            switch byte {
            case UInt8(ascii: "\""):
                position += 1
                return String(decoding: utf8, as: UTF8.self)  // every byte appended is well-formed UTF-8
            case UInt8(ascii: "\\"):
                try parseEscape(into: &utf8)
            case 0x00..<0x20:
                throw failure("expected control characters inside a string to be escaped, found raw byte \(hex(byte))")
            case 0x20..<0x80:
                utf8.append(byte)
                position += 1
            default:
                guard let n = UTF8Check.sequenceLength(bytes, at: position) else {
                    throw failure("expected UTF-8 text inside the string, found the invalid byte \(hex(byte))")
                }
                utf8.append(contentsOf: bytes[position..<(position + n)])
                position += n
            }
        }
    }

    private mutating func parseEscape(into utf8: inout [UInt8]) throws {
        let escapeStart = position
        position += 1  // backslash
        guard let code = peek() else {
            throw failure("expected an escape character after '\\', found the end of the text")
        }
        position += 1
        switch code {
        case UInt8(ascii: "\""): utf8.append(0x22)
        case UInt8(ascii: "\\"): utf8.append(0x5C)
        case UInt8(ascii: "/"): utf8.append(0x2F)
        case UInt8(ascii: "b"): utf8.append(0x08)
        case UInt8(ascii: "f"): utf8.append(0x0C)
        case UInt8(ascii: "n"): utf8.append(0x0A)
        case UInt8(ascii: "r"): utf8.append(0x0D)
        case UInt8(ascii: "t"): utf8.append(0x09)
        case UInt8(ascii: "u"):
            let unit = try hexUnit()
            var scalarValue = UInt32(unit)
            if (0xD800...0xDBFF).contains(unit) {
                guard peek() == UInt8(ascii: "\\"), peek(1) == UInt8(ascii: "u") else {
                    throw failure("expected a low surrogate escape \\uDC00-\\uDFFF after the high surrogate \\u\(hex4(unit)), found \(found(upTo: 6))")
                }
                position += 2
                let low = try hexUnit()
                guard (0xDC00...0xDFFF).contains(low) else {
                    position -= 6
                    throw failure("expected a low surrogate \\uDC00-\\uDFFF after the high surrogate \\u\(hex4(unit)), found \\u\(hex4(low))")
                }
                scalarValue = 0x10000 + ((UInt32(unit) - 0xD800) << 10) + (UInt32(low) - 0xDC00)
            } else if (0xDC00...0xDFFF).contains(unit) {
                position = escapeStart
                throw failure("expected a high surrogate \\uD800-\\uDBFF before the low surrogate \\u\(hex4(unit)), found it alone")
            }
            guard let scalar = Unicode.Scalar(scalarValue) else {
                position = escapeStart
                throw failure("expected a Unicode scalar value, found U+\(String(scalarValue, radix: 16, uppercase: true))")
            }
            UTF8.encode(scalar) { utf8.append($0) }
        default:
            position = escapeStart
            let shown = code >= 0x20 && code < 0x7F ? "'\\\(Character(Unicode.Scalar(code)))'" : "'\\' followed by byte \(hex(code))"
            throw failure("expected one of \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX, found \(shown)")
        }
    }

    /// Four hex digits (after `\u`).
    private mutating func hexUnit() throws -> UInt16 {
        var value: UInt16 = 0
        for _ in 0..<4 {
            guard let byte = peek() else {
                throw failure("expected 4 hex digits after \\u, found the end of the text")
            }
            let digit: UInt8
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
            default: throw failure("expected 4 hex digits after \\u, found \(found())")
            }
            value = value << 4 | UInt16(digit)
            position += 1
        }
        return value
    }

    // MARK: - Numbers

    private mutating func parseNumber() throws -> JSONValue {
        let start = position
        var negative = false
        if peek() == UInt8(ascii: "-") {
            negative = true
            position += 1
        }
        guard let first = peek(), isDigit(first) else {
            throw failure("expected a digit after '-', found \(found())")
        }
        var magnitude: UInt64 = 0
        var fits = true
        if first == UInt8(ascii: "0") {
            position += 1
            if let next = peek(), isDigit(next) {
                throw failure("expected '.', 'e' or the end of the number after a leading 0, found '\(Character(Unicode.Scalar(next)))' (leading zeros are not allowed)")
            }
        } else {
            while let d = peek(), isDigit(d) {
                if fits {
                    let (m, o1) = magnitude.multipliedReportingOverflow(by: 10)
                    let (s, o2) = m.addingReportingOverflow(UInt64(d - UInt8(ascii: "0")))
                    if o1 || o2 { fits = false } else { magnitude = s }
                }
                position += 1
            }
        }
        var isInteger = true
        if peek() == UInt8(ascii: ".") {
            isInteger = false
            position += 1
            guard let d = peek(), isDigit(d) else {
                throw failure("expected a digit after the decimal point, found \(found())")
            }
            while let d = peek(), isDigit(d) { position += 1 }
        }
        if let e = peek(), e == UInt8(ascii: "e") || e == UInt8(ascii: "E") {
            isInteger = false
            position += 1
            if let s = peek(), s == UInt8(ascii: "+") || s == UInt8(ascii: "-") { position += 1 }
            guard let d = peek(), isDigit(d) else {
                throw failure("expected a digit in the exponent, found \(found())")
            }
            while let d = peek(), isDigit(d) { position += 1 }
        }
        if isInteger && fits {
            return .integer(negative: negative, magnitude: magnitude)
        }
        let text = String(decoding: bytes[start..<position], as: UTF8.self)
        guard let value = Double(text), value.isFinite else {
            let shown = text.count > 40 ? String(text.prefix(40)) + "…" : text
            position = start
            throw failure("expected a number within the range of a double, found \(shown)")
        }
        return .number(value)
    }

    // MARK: - Helpers

    private func peek(_ ahead: Int = 0) -> UInt8? {
        let i = position + ahead
        return i >= 0 && i < bytes.count ? bytes[i] : nil
    }

    private func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }

    private mutating func skipWhitespace() {
        while let b = peek(), b == 0x20 || b == 0x0A || b == 0x0D || b == 0x09 { position += 1 }
    }

    /// What is at the current position, for messages: `'x'`, `byte 0xFF`, `the end of the text`.
    private func found(upTo count: Int = 1) -> String {
        guard position < bytes.count else { return "the end of the text" }
        let end = min(bytes.count, position + max(1, count))
        let slice = bytes[position..<end]
        if slice.allSatisfy({ $0 >= 0x20 && $0 < 0x7F }) {
            return "'" + String(decoding: slice, as: UTF8.self) + "'"
        }
        return "byte \(hex(bytes[position]))"
    }

    private func hex(_ b: UInt8) -> String {
        let digits = String(b, radix: 16, uppercase: true)
        return "0x" + (digits.count < 2 ? "0" + digits : digits)
    }

    private func hex4(_ u: UInt16) -> String {
        let digits = String(u, radix: 16, uppercase: true)
        return String(repeating: "0", count: max(0, 4 - digits.count)) + digits
    }

    private func failure(_ message: String) -> RNNRTError {
        RNNRTError(.malformed, "JSON at byte \(position): \(message)")
    }
}
