import RNNRTCore

/// Reads the legacy non-zip `torch.save` format (`_use_new_zipfile_serialization=False`, PyTorch < 1.6):
/// five pickles back to back — magic number, protocol version, sys-info, the object, the list of storage
/// keys — then, for each key in that list's order, an int64 element count and the storage's raw bytes.
///
/// The object pickle is interpreted exactly as in the zip format (`TorchCheckpoint.stateDict`). Storage
/// data is little-endian whatever machine wrote it (PyTorch converts on write).
enum TorchLegacyCheckpoint {
    static let formatName = "PyTorch legacy (torch.save, non-zip)"
    /// `0x1950A86A20F9469CFC6C`, little-endian, as the first pickle's LONG1 operand.
    static let magic: [UInt8] = [0x6C, 0xFC, 0x9C, 0x46, 0xF9, 0x20, 0x6A, 0xA8, 0x50, 0x19]
    static let protocolVersion: Int64 = 1001

    static func read(_ bytes: [UInt8]) throws -> StateDict {
        var header = PickleMachine(bytes)
        guard case .bigInt(let m) = try withContext("reading the magic number", { try header.run() }), m == magic else {
            throw RNNRTError(.malformed, "legacy torch.save file does not start with the magic number 0x1950A86A20F9469CFC6C")
        }
        var version = PickleMachine(bytes, start: header.position)
        let protocolValue = try withContext("reading the protocol version") { try version.run() }
        guard protocolValue == .int(protocolVersion) else {
            throw RNNRTError(.unsupported, "legacy torch.save protocol version is \(protocolValue), expected \(protocolVersion)")
        }
        var sysInfo = PickleMachine(bytes, start: version.position)
        _ = try withContext("reading sys_info") { try sysInfo.run() }

        var main = PickleMachine(bytes, start: sysInfo.position)
        let root = try withContext("reading the main pickle") { try main.run() }
        var keyList = PickleMachine(bytes, start: main.position)
        let keysValue = try withContext("reading the storage key list") { try keyList.run() }
        guard case .list(let keyValues)? = keyList.node(of: keysValue) else {
            throw RNNRTError(.malformed, "legacy torch.save storage key list is not a list")
        }

        // Each storage the object names, by key: its dtype decides how many bytes its count covers.
        var declared: [String: StorageReference] = [:]
        for node in main.nodes {
            if case .storage(let ref) = node { declared[ref.key] = ref }
        }
        var ranges: [String: Range<Int>] = [:]
        var offset = keyList.position
        for value in keyValues {
            guard case .string(let key) = value else { throw RNNRTError(.malformed, "legacy storage key \(value) is not a string") }
            guard let ref = declared[key] else {
                throw RNNRTError(.malformed, "legacy storage key '\(key)' is listed but no tensor uses it")
            }
            guard let dtype = ref.dtype else {
                throw RNNRTError(.malformed, "legacy storage '\(key)' has no dtype (untyped storages exist only in zip files)")
            }
            guard offset <= bytes.count - 8 else {
                throw RNNRTError(.malformed, "legacy file ends at byte \(bytes.count), before the element count of storage '\(key)'")
            }
            var count: UInt64 = 0
            for i in 0..<8 { count |= UInt64(bytes[offset + i]) << (8 * UInt64(i)) }
            offset += 8
            guard count == UInt64(ref.numel) else {
                throw RNNRTError(.malformed, "legacy storage '\(key)' says it holds \(count) elements, the tensor that uses it says \(ref.numel)")
            }
            let length = ref.numel * dtype.byteSize  // numel ≤ Int.max / 16, so no overflow
            guard length <= bytes.count - offset else {
                throw RNNRTError(.malformed, "legacy storage '\(key)' needs \(length) bytes at offset \(offset), the file has \(bytes.count - offset) left")
            }
            ranges[key] = offset..<(offset + length)
            offset += length
        }
        return try TorchCheckpoint.stateDict(from: root, machine: main, format: formatName, bigEndian: false) { key, _ in
            guard let range = ranges[key] else {
                throw RNNRTError(.malformed, "legacy storage '\(key)' is used by a tensor but missing from the storage list")
            }
            return .bytes(Array(bytes[range]))
        }
    }
}
