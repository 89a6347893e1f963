import Foundation
import RNNRTCore

extension StateDict {
    /// Writes the tensors as a `torch.save` zip checkpoint that `torch.load(path, weights_only=True)`
    /// reads back as a flat `collections.OrderedDict` (like `torch.save(model.state_dict(), path)`).
    ///
    /// - Names are the state dict's names verbatim (dotted), in its order; a nested training checkpoint
    ///   read by rnnrt is written back flat (`model_state_dict.encoder.rnn.weight_ih_l0`).
    /// - Every tensor keeps its dtype, shape and bytes exactly, each in its own storage record. Classic
    ///   dtypes (float32/64/16, bfloat16, int64/32/16/8, uint8, bool, complex64/128) use
    ///   `_rebuild_tensor_v2` with `torch.<X>Storage`; uint16/32/64 use `_rebuild_tensor_v3` with
    ///   `torch.storage.UntypedStorage` and the dtype, as PyTorch ≥ 2.3 writes them.
    /// - Tensors are plain (`requires_grad=False`), contiguous, on `'cpu'`.
    /// - Non-tensor `values` (`epoch`, `loss`, safetensors metadata, ...) are **not** written.
    ///
    /// Entries, in order: `archive/data.pkl` (pickle protocol 2), `archive/.format_version` (`1`),
    /// `archive/.storage_alignment` (`64`), `archive/byteorder` (`little`), `archive/data/0…`,
    /// `archive/version` (`3\n`); all stored uncompressed, each entry's data 64-byte aligned as
    /// `torch.save` aligns it. The informational `.data/serialization_id` record is not written.
    /// The file is written beside `url` under a temporary name and renamed over it when complete.
    /// - Throws: `RNNRTError` `.io` when the file cannot be written (naming the path and the reason),
    ///   `.unsupported` for a shape whose strides do not fit in 64 bits.
    package func writeTorch(to url: URL) throws {
        let tensors = self.tensors
        let pickle = try PickleWriter.stateDict(tensors.enumerated().map { index, item in
            (name: item.name, dtype: item.tensor.dtype, shape: item.tensor.shape, storageKey: String(index))
        })
        var archive = ZipWriter(alignment: 64)
        archive.add("archive/data.pkl", pickle)
        archive.add("archive/.format_version", text: "1")
        archive.add("archive/.storage_alignment", text: "64")
        archive.add("archive/byteorder", text: "little")
        for (index, item) in tensors.enumerated() {
            #if _endian(big)
            var data = item.tensor.bytes
            swapByteOrder(&data, dtype: item.tensor.dtype)  // the record says little-endian
            archive.add("archive/data/\(index)", data)
            #else
            archive.add("archive/data/\(index)", item.tensor.bytes)
            #endif
        }
        archive.add("archive/version", text: "3\n")
        try archive.write(to: url)
    }
}
