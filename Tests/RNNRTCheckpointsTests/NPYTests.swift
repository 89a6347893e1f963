import Foundation
import Testing
import RNNRTTestSupport
@testable import RNNRTCheckpoints
import RNNRTCore

/// `.npy` files written by numpy in every version, byte order, memory order and dtype decode to what
/// numpy's own `astype(np.float32)` gives; rnnrt's writer reproduces numpy's bytes exactly.
@Suite struct NPYTests {
    static let good = ["f4", "f8", "f2", "i8", "i4", "i2", "i1", "u1", "u2", "b1", "be_f4", "be_f8", "be_i8",
                       "fortran2d", "fortran3d", "scalar0d", "zero_axis", "v2", "v3"]

    @Test(arguments: good)
    func decodesLikeNumpy(_ name: String) throws {
        let stored = try NPY.read(contentsOf: Fixture.url("npy/\(name).npy"))
        let expected = try NPY.read(contentsOf: Fixture.url("npy/\(name).expected_f32.npy"))
        #expect(expected.dtype == .float32)
        let actual = try stored.floatTensor()
        #expect(actual.shape == expected.shape)
        let e = try expected.floatTensor()
        #expect(actual.scalars.elementsEqual(e.scalars) { $0 == $1 || ($0.isNaN && $1.isNaN) }, "\(name)")
    }

    @Test func readsDtypesAsStored() throws {
        #expect(try NPY.read(contentsOf: Fixture.url("npy/i8.npy")).dtype == .int64)
        #expect(try NPY.read(contentsOf: Fixture.url("npy/be_f8.npy")).dtype == .float64)
        #expect(try NPY.read(contentsOf: Fixture.url("npy/b1.npy")).dtype == .bool)
        #expect(try NPY.read(contentsOf: Fixture.url("npy/scalar0d.npy")).shape == [])
        #expect(try NPY.read(contentsOf: Fixture.url("npy/zero_axis.npy")).shape == [0, 3])
    }

    @Test(arguments: ["scalar", "1", "5", "2x3", "7x1x3", "1x20x16", "1000x2x8"])
    func writesExactlyWhatNumpyWrites(_ shape: String) throws {
        let url = Fixture.url("npy/written_\(shape).npy")
        let original = [UInt8](try Data(contentsOf: url))
        let decoded = try NPY.decode(original)
        #expect(NPY.encode(decoded) == original)
    }

    static let malformed: [(String, RNNRTError.Kind)] = [
        ("empty", .malformed), ("bad_magic", .malformed), ("truncated_header", .malformed),
        ("truncated_data", .malformed), ("trailing_bytes", .malformed), ("absurd_shape", .malformed),
        ("header_past_eof", .malformed), ("negative_dim", .malformed), ("object_dtype", .unsupported),
        ("structured", .unsupported), ("version9", .unsupported), ("extra_key", .malformed),
    ]

    @Test(arguments: malformed)
    func rejectsMalformedFiles(_ name: String, _ kind: RNNRTError.Kind) {
        expectRNNRTError(kind) { try NPY.read(contentsOf: Fixture.url("malformed/npy/\(name).npy")) }
    }

    @Test func absurdShapeFailsBeforeAllocating() {
        let error = #expect(throws: RNNRTError.self) { try NPY.read(contentsOf: Fixture.url("malformed/npy/absurd_shape.npy")) }
        #expect(error?.message.contains("needs 4000000000000000000 bytes, the file has 96") == true)
    }

    /// A header numpy would write for an empty array whose other extents multiply past Int: refused by name, so
    /// nothing after the reader multiplies them (a `[2^40, 2^40, 0]` tensor's first two axes overflow).
    @Test func emptyArraysWhoseExtentsOverflowAreRefused() {
        var header = Array("{'descr': '<f4', 'fortran_order': False, 'shape': (1099511627776, 1099511627776, 0), }".utf8)
        while (10 + header.count + 1) % 64 != 0 { header.append(0x20) }
        header.append(0x0A)
        let bytes = [0x93] + Array("NUMPY".utf8) + [1, 0, UInt8(header.count & 0xFF), UInt8(header.count >> 8)] + header
        expectRNNRTError(.malformed, containing: ["[1099511627776, 1099511627776, 0]"]) { try NPY.decode(bytes) }
    }

    @Test func complexDoesNotConvertToFloat() throws {
        let t = try StoredTensor(dtype: .complex64, shape: [1], bytes: [UInt8](repeating: 0, count: 8))
        #expect(throws: RNNRTError.self) { try t.floatTensor() }
    }
}
