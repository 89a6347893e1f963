import CONNXProto

// protobuf-c's C values (strings, byte fields, counted arrays) as Swift values, for the converter.

/// A C string as Swift text; invalid UTF-8 is repaired, NULL is `""`.
func string(_ p: UnsafeMutablePointer<CChar>?) -> String {
    p.map { String(cString: $0) } ?? ""
}

/// protobuf `bytes` as text, decoded as UTF-8 with invalid sequences replaced.
func text(_ b: ProtobufCBinaryData) -> String {
    String(decoding: elements(b.data, b.len), as: UTF8.self)
}

func elements<T>(_ base: UnsafeMutablePointer<T>?, _ count: Int) -> [T] {
    guard count > 0, let base else { return [] }
    return Array(UnsafeBufferPointer(start: base, count: count))
}

func pointers<T>(_ base: UnsafeMutablePointer<UnsafeMutablePointer<T>?>?, _ count: Int) -> [UnsafeMutablePointer<T>] {
    elements(base, count).compactMap { $0 }
}

func strings(_ base: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?, _ count: Int) -> [String] {
    elements(base, count).map(string)
}
