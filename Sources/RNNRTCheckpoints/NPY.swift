import Foundation
import RNNRTCore

/// NumPy `.npy` files: reading (format 1.0, 2.0, 3.0; any byte order; C or Fortran order) and writing
/// (format 1.0, little-endian, C order, byte-identical to `numpy.save`).
///
/// Reading is strict and bounded: the header must be the three-key dict numpy writes, its length at
/// most `maxHeaderLength`, and the data exactly the size the shape and dtype give (trailing bytes are
/// refused, as numpy's own reader does for files it wrote). No allocation happens before the sizes are
/// known to fit in the bytes present.
public enum NPY {
    /// Longest header accepted, in bytes (numpy refuses over 10 000 by default; we allow big shapes).
    public static let maxHeaderLength = 100_000
    private static let magic: [UInt8] = [0x93, 0x4E, 0x55, 0x4D, 0x50, 0x59]

    /// Reads a `.npy` file.
    /// - Throws: `RNNRTError` `.io` if unreadable, `.malformed`/`.unsupported` with what was expected
    ///   and what was found.
    public static func read(contentsOf url: URL) throws -> StoredTensor {
        let bytes = try withContext("reading \(url.path)") { () throws -> [UInt8] in
            do {
                return [UInt8](try Data(contentsOf: url))
            } catch {
                throw RNNRTError(.io, "cannot read \(url.path): \((error as NSError).localizedDescription)")
            }
        }
        return try withContext("reading \(url.path)") { try decode(bytes) }
    }

    /// Decodes the bytes of a `.npy` file (also the entries of a `.npz`).
    /// - Throws: `RNNRTError` `.malformed` for a bad magic, header or data size, `.unsupported` for a dtype rnnrt
    ///   does not read (strings, objects, structured arrays, ...).
    public static func decode(_ bytes: [UInt8]) throws -> StoredTensor {
        guard bytes.count >= 10, Array(bytes[0..<6]) == magic else {
            let head = bytes.prefix(8).map { String(format: "%02x", $0) }.joined(separator: " ")
            throw RNNRTError(.malformed, "not a .npy file: expected magic 93 4e 55 4d 50 59 (\\x93NUMPY), found \(head.isEmpty ? "an empty file" : head)")
        }
        let major = bytes[6], minor = bytes[7]
        let headerStart: Int, headerLength: Int
        switch major {
        case 1:
            headerStart = 10
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8
        case 2, 3:
            guard bytes.count >= 12 else { throw RNNRTError(.malformed, "npy header length field is truncated") }
            headerStart = 12
            headerLength = Int(bytes[8]) | Int(bytes[9]) << 8 | Int(bytes[10]) << 16 | Int(bytes[11]) << 24
        default:
            throw RNNRTError(.unsupported, "npy format version \(major).\(minor) is not supported (expected 1.0, 2.0 or 3.0)")
        }
        guard headerLength <= maxHeaderLength else {
            throw RNNRTError(.malformed, "npy header claims \(headerLength) bytes, more than the \(maxHeaderLength) accepted")
        }
        guard headerStart + headerLength <= bytes.count else {
            throw RNNRTError(.malformed, "npy header claims \(headerLength) bytes but the file has only \(bytes.count - headerStart) after the length field")
        }
        let headerBytes = bytes[headerStart..<(headerStart + headerLength)]
        let headerText: String
        if major == 3 {
            guard let text = String(validating: headerBytes, as: UTF8.self) else {
                throw RNNRTError(.malformed, "npy 3.0 header is not valid UTF-8")
            }
            headerText = text
        } else {
            headerText = String(headerBytes.map { Character(Unicode.Scalar($0)) })  // latin-1
        }
        let header = try Header(parsing: headerText)
        let dataStart = headerStart + headerLength
        guard let count = header.shape.checkedElementCount(),
              case let (byteCount, overflow) = count.multipliedReportingOverflow(by: header.dtype.byteSize), !overflow
        else {
            throw RNNRTError(.malformed, "npy shape \(header.shape.shapeDescription) has too many elements")
        }
        let available = bytes.count - dataStart
        guard byteCount <= available else {
            throw RNNRTError(.malformed, "npy data: shape \(header.shape.shapeDescription) \(header.dtype.rawValue) needs \(byteCount) bytes, the file has \(available)")
        }
        guard byteCount == available else {
            throw RNNRTError(.malformed, "npy data: shape \(header.shape.shapeDescription) \(header.dtype.rawValue) needs \(byteCount) bytes, the file has \(available - byteCount) more")
        }
        return try header.storedTensor(Array(bytes[dataStart..<(dataStart + byteCount)]))
    }

    /// Encodes `tensor` as `.npy` 1.0 (2.0 if the header exceeds 65535 bytes), little-endian, C order, with
    /// the header padded so the data starts at a multiple of 64, exactly as `numpy.save` does.
    public static func encode(_ tensor: StoredTensor) -> [UInt8] {
        let shapeText: String
        switch tensor.shape.count {
        case 0: shapeText = "()"
        case 1: shapeText = "(\(tensor.shape[0]),)"
        default: shapeText = "(" + tensor.shape.map(String.init).joined(separator: ", ") + ")"
        }
        var dict = "{'descr': '\(descr(tensor.dtype))', 'fortran_order': False, 'shape': \(shapeText), }"
        // numpy leaves room for the growing axis to gain digits, then pads to 64 bytes with a final "\n".
        dict += String(repeating: " ", count: max(0, 21 - String(tensor.shape.first ?? 0).count))
        var version: UInt8 = 1
        var prefixLength = 10
        if dict.utf8.count + 1 + prefixLength > 65535 { version = 2; prefixLength = 12 }
        let padding = 64 - (prefixLength + dict.utf8.count + 1) % 64
        let header = dict + String(repeating: " ", count: padding % 64) + "\n"
        var out = magic + [version, 0]
        let n = header.utf8.count
        if version == 1 {
            out += [UInt8(n & 0xFF), UInt8(n >> 8)]
        } else {
            out += [UInt8(n & 0xFF), UInt8((n >> 8) & 0xFF), UInt8((n >> 16) & 0xFF), UInt8(n >> 24)]
        }
        out += Array(header.utf8)
        out += tensor.bytes
        return out
    }

    /// Writes `tensor` as a `.npy` file (`encode(_:)`), replacing what is at `url`.
    /// - Throws: `RNNRTError` `.io` when the file cannot be written.
    public static func write(_ tensor: StoredTensor, to url: URL) throws {
        do {
            try Data(encode(tensor)).write(to: url)
        } catch {
            throw RNNRTError(.io, "cannot write \(url.path): \((error as NSError).localizedDescription)")
        }
    }

    /// Writes a float32 tensor as a `.npy` file of dtype `<f4`, replacing what is at `url`.
    /// - Throws: `RNNRTError` `.io` when the file cannot be written.
    public static func write(_ tensor: Tensor, to url: URL) throws {
        try write(StoredTensor(tensor), to: url)
    }

    static func descr(_ dtype: DType) -> String {
        switch dtype {
        case .float32: return "<f4"
        case .float64: return "<f8"
        case .float16: return "<f2"
        case .bfloat16: return "<V2"  // numpy has no bfloat16; written as raw 2-byte values
        case .int64: return "<i8"
        case .int32: return "<i4"
        case .int16: return "<i2"
        case .int8: return "|i1"
        case .uint64: return "<u8"
        case .uint32: return "<u4"
        case .uint16: return "<u2"
        case .uint8: return "|u1"
        case .bool: return "|b1"
        case .complex64: return "<c8"
        case .complex128: return "<c16"
        }
    }

    static func fortranToC(_ data: [UInt8], shape: [Int], elementSize: Int) -> [UInt8] {
        let rank = shape.count
        var fStrides = [Int](repeating: 1, count: rank)
        for axis in 1..<rank { fStrides[axis] = fStrides[axis - 1] * shape[axis - 1] }
        var out = [UInt8](repeating: 0, count: data.count)
        var index = [Int](repeating: 0, count: rank)
        let count = shape.reduce(1, *)
        for c in 0..<count {
            var f = 0
            for axis in 0..<rank { f += index[axis] * fStrides[axis] }
            for b in 0..<elementSize { out[c * elementSize + b] = data[f * elementSize + b] }
            index.advance(within: shape)
        }
        return out
    }
}
