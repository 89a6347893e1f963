import CONNXProto
import RNNRTCore

/// External data: a tensor's bytes in a file inside the model's folder.
extension Converter {
    func externalBytes(_ t: Onnx__TensorProto, label: String, what: String, needed: Int,
                       dtype: DType) throws -> [UInt8] {
        var entries: [String: String] = [:]
        for e in pointers(t.external_data, t.n_external_data) {
            let key = string(e.pointee.key)
            guard entries.updateValue(string(e.pointee.value), forKey: key) == nil else {
                throw RNNRTError(.malformed, "\(label) lists the external_data key '\(key)' twice")
            }
        }
        guard let location = entries["location"], !location.isEmpty else {
            throw RNNRTError(.malformed, "\(label) has data_location EXTERNAL but no 'location' in external_data")
        }
        func number(_ key: String) throws -> Int? {
            guard let text = entries[key] else { return nil }
            guard !text.isEmpty, text.utf8.allSatisfy({ $0 >= 0x30 && $0 <= 0x39 }), let n = Int(text) else {
                throw RNNRTError(.malformed, "\(label): external_data '\(key)' must be a non-negative decimal integer, found '\(text)'")
            }
            return n
        }
        let offset = try number("offset") ?? 0
        let declaredLength = try number("length")

        // The location must stay inside the model's folder, before and after resolving symlinks.
        let head = Array(location.utf8.prefix(2))
        let drive = head.count == 2 && head[1] == UInt8(ascii: ":")
            && ((head[0] | 0x20) >= UInt8(ascii: "a") && (head[0] | 0x20) <= UInt8(ascii: "z"))
        if location.hasPrefix("/") || location.hasPrefix("\\") || drive {
            throw RNNRTError(.unsafe, "\(label): external data location '\(location)' is an absolute path; it must be relative to the model's folder")
        }
        let components = location.split(whereSeparator: { $0 == "/" || $0 == "\\" })
        if components.contains("..") {
            throw RNNRTError(.unsafe, "\(label): external data location '\(location)' has a '..' component; it must stay inside the model's folder")
        }
        guard let modelDirectory else {
            throw RNNRTError(.invalidArgument, "\(label) keeps its data in the external file '\(location)', and no model folder was given to find it in")
        }
        let directoryPath = modelDirectory.path
        let path = directoryPath + "/" + location
        let resolvedDirectory = try FileAccess.realPath(directoryPath, role: "the model's folder")
        let resolved = try FileAccess.realPath(path, role: "external data file of \(label)")
        let inside = resolvedDirectory == "/" ? resolved.hasPrefix("/") : resolved.hasPrefix(resolvedDirectory + "/")
        guard inside else {
            throw RNNRTError(.unsafe, "\(label): external data location '\(location)' resolves to \(resolved), outside the model's folder \(resolvedDirectory)")
        }
        let size = try FileAccess.regularFileSize(resolved, role: "external data file of \(label)")
        guard offset <= size else {
            throw RNNRTError(.malformed, "\(label): external data offset \(offset) is past the end of '\(location)' (\(size) bytes)")
        }
        let length = declaredLength ?? (size - offset)
        let (end, overflow) = offset.addingReportingOverflow(length)
        guard !overflow, end <= size else {
            throw RNNRTError(.malformed, "\(label): external data (offset \(offset), length \(length)) runs past the end of '\(location)' (\(size) bytes)")
        }
        guard length == needed else {
            throw RNNRTError(.malformed, "\(what), found \(length) bytes of external data in '\(location)' (offset \(offset))")
        }
        let data = try FileAccess.read(resolved, offset: offset, length: length)
        return ONNXModelFile.hostOrder(data, elementSize: dtype.byteSize)
    }
}
