import RNNRTCore

/// Reverses the byte order of every element of `dtype` in `bytes` (complex values swap each of their
/// two parts). Used by every reader that meets big-endian data.
func swapByteOrder(_ bytes: inout [UInt8], dtype: DType) {
    let unit = dtype.isComplex ? dtype.byteSize / 2 : dtype.byteSize
    guard unit > 1 else { return }
    bytes.withUnsafeMutableBufferPointer { p in
        var i = 0
        while i + unit <= p.count {
            var a = i, b = i + unit - 1
            while a < b { p.swapAt(a, b); a += 1; b -= 1 }
            i += unit
        }
    }
}
