/// Named tensors read from a checkpoint, in file order, with dotted names exactly like PyTorch's
/// `state_dict()` keys (`encoder.rnn.weight_ih_l0`; nested containers add their key as a prefix).
///
/// Non-tensor leaves of a training checkpoint (`epoch`, `loss`, ...) are kept in `values` as display text.
public struct StateDict: Sendable {
    /// Tensor names in the order the file lists them.
    public private(set) var names: [String] = []
    private var tensorsByName: [String: StoredTensor] = [:]
    /// Non-tensor leaves (numbers, strings, bools), as `name = text`, in file order.
    public private(set) var values: [(name: String, text: String)] = []
    /// A short human-readable name of the format the tensors came from (`PyTorch zip (torch.save)`, `safetensors`,
    /// ...; `in-memory` for one made in code).
    public var format: String

    /// An empty state dict.
    public init(format: String = "in-memory") {
        self.format = format
    }

    /// A state dict holding `tensors` in the given order; duplicate names are `.malformed`.
    public init(_ tensors: [(String, StoredTensor)], format: String = "in-memory") throws {
        self.format = format
        for (name, tensor) in tensors { try insert(tensor, named: name) }
    }

    /// Adds a tensor; a name seen before is `.malformed`.
    public mutating func insert(_ tensor: StoredTensor, named name: String) throws {
        guard tensorsByName[name] == nil else {
            throw RNNRTError(.malformed, "tensor name '\(name)' appears twice")
        }
        names.append(name)
        tensorsByName[name] = tensor
    }

    /// Records a non-tensor leaf for inspection.
    package mutating func insertValue(_ text: String, named name: String) {
        values.append((name, text))
    }

    /// The text of the non-tensor leaf called `name` (the last one, if several), if any.
    public func value(named name: String) -> String? {
        values.last { $0.name == name }?.text
    }

    /// The tensor called `name`, if any.
    public subscript(name: String) -> StoredTensor? { tensorsByName[name] }

    /// Number of tensors.
    public var count: Int { names.count }

    /// Every tensor with its name, in file order.
    public var tensors: [(name: String, tensor: StoredTensor)] {
        names.compactMap { n in tensorsByName[n].map { (n, $0) } }
    }
}
