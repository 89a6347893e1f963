/// Which `torch.nn` recurrent module a set of weights belongs to.
public enum RecurrentKind: String, Sendable, Codable, CaseIterable {
    /// `nn.RNN` (and `nn.RNNCell`): `h' = nonlinearity(W_ih·x + b_ih + W_hh·h + b_hh)`.
    case rnn = "RNN"
    /// `nn.LSTM` (and `nn.LSTMCell`): gates i, f, g, o, a cell state `c` beside `h`.
    case lstm = "LSTM"
    /// `nn.GRU` (and `nn.GRUCell`): gates r, z, n.
    case gru = "GRU"

    /// Row blocks stacked in each weight matrix: 1 (RNN), 4 (LSTM: i, f, g, o), 3 (GRU: r, z, n).
    package var gateCount: Int {
        switch self {
        case .rnn: return 1
        case .lstm: return 4
        case .gru: return 3
        }
    }

    /// The kind whose weight matrices stack `gateCount` blocks, if any.
    package init?(gateCount: Int) {
        switch gateCount {
        case 1: self = .rnn
        case 4: self = .lstm
        case 3: self = .gru
        default: return nil
        }
    }
}

/// The nonlinearity of an `nn.RNN` (PyTorch's `nonlinearity=` argument).
public enum Nonlinearity: String, Sendable, Codable, CaseIterable {
    /// `nonlinearity='tanh'`, PyTorch's default.
    case tanh
    /// `nonlinearity='relu'`.
    case relu
}

/// Everything `nn.RNN`/`nn.LSTM`/`nn.GRU`'s constructor takes that matters at inference, with PyTorch's
/// names and meanings. `dropout` is absent: it does nothing in evaluation mode.
///
/// `isCell` marks `nn.RNNCell`/`nn.LSTMCell`/`nn.GRUCell`: one step of a one-layer unidirectional module, whose
/// gate order and equations equal the module's layer 0 and whose parameters are named without the `_l0`
/// suffix (`weight_ih`, `bias_hh`). rnnrt runs a cell as that module stepped over the sequence, the state
/// carried from step to step; `batchFirst` then only says how that sequence is laid out.
public struct RecurrentConfiguration: Sendable, Equatable, Codable {
    /// RNN, LSTM or GRU.
    public var kind: RecurrentKind
    /// Only meaningful for `.rnn`; LSTM and GRU have fixed nonlinearities.
    public var nonlinearity: Nonlinearity
    /// Features of each input step (`input_size`): the last axis of the input sequence.
    public var inputSize: Int
    /// Features of the hidden state (`hidden_size`); an LSTM's cell state too.
    public var hiddenSize: Int
    /// Stacked layers (`num_layers`), each reading the previous one's output.
    public var numLayers: Int
    /// Whether each layer also runs from the last step back (`bidirectional`), its output concatenated after the
    /// forward direction's.
    public var bidirectional: Bool
    /// Whether the module has `bias_ih`/`bias_hh` parameters (`bias`).
    public var bias: Bool
    /// LSTM projection size; 0 means no projection.
    public var projSize: Int
    /// When true, inputs and outputs are `[N, L, ·]` instead of `[L, N, ·]` (states keep their layout).
    public var batchFirst: Bool
    /// A cell (`nn.LSTMCell`, ...): one layer, one direction, no projection, parameters named `weight_ih`, ...
    public var isCell: Bool

    /// A configuration with PyTorch's constructor defaults for what is left out. Not checked here: binding a module
    /// to it throws `.invalidArgument` for what PyTorch's constructor would reject.
    public init(kind: RecurrentKind, inputSize: Int, hiddenSize: Int, numLayers: Int = 1,
                bidirectional: Bool = false, bias: Bool = true, projSize: Int = 0,
                nonlinearity: Nonlinearity = .tanh, batchFirst: Bool = false, isCell: Bool = false) {
        self.kind = kind
        self.nonlinearity = nonlinearity
        self.inputSize = inputSize
        self.hiddenSize = hiddenSize
        self.numLayers = numLayers
        self.bidirectional = bidirectional
        self.bias = bias
        self.projSize = projSize
        self.batchFirst = batchFirst
        self.isCell = isCell
    }

    private enum CodingKeys: String, CodingKey {
        case kind, nonlinearity, inputSize, hiddenSize, numLayers, bidirectional, bias, projSize, batchFirst, isCell
    }

    /// Decodes every field; `isCell` may be absent (JSON written before cells were read), meaning false.
    public init(from decoder: Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        self.init(kind: try c.decode(RecurrentKind.self, forKey: .kind), inputSize: try c.decode(Int.self, forKey: .inputSize),
                  hiddenSize: try c.decode(Int.self, forKey: .hiddenSize), numLayers: try c.decode(Int.self, forKey: .numLayers),
                  bidirectional: try c.decode(Bool.self, forKey: .bidirectional), bias: try c.decode(Bool.self, forKey: .bias),
                  projSize: try c.decode(Int.self, forKey: .projSize),
                  nonlinearity: try c.decode(Nonlinearity.self, forKey: .nonlinearity),
                  batchFirst: try c.decode(Bool.self, forKey: .batchFirst),
                  isCell: try c.decodeIfPresent(Bool.self, forKey: .isCell) ?? false)
    }

    /// 2 when bidirectional, else 1.
    public var directionCount: Int { bidirectional ? 2 : 1 }
    /// Size of `h` (and of each direction's output features): `projSize` if set, else `hiddenSize`.
    public var outputSize: Int { projSize > 0 ? projSize : hiddenSize }

    /// The module as PyTorch would construct it, e.g. `nn.LSTM(3, 5, num_layers=2, proj_size=2)` or
    /// `nn.RNNCell(3, 5, bias=False, nonlinearity='relu')` (a cell's constructor has no `batch_first`).
    public var torchDescription: String {
        if isCell { return cellDescription }
        var args = ["\(inputSize)", "\(hiddenSize)"]
        if numLayers != 1 { args.append("num_layers=\(numLayers)") }
        if kind == .rnn && nonlinearity != .tanh { args.append("nonlinearity='\(nonlinearity.rawValue)'") }
        if !bias { args.append("bias=False") }
        if batchFirst { args.append("batch_first=True") }
        if bidirectional { args.append("bidirectional=True") }
        if projSize > 0 { args.append("proj_size=\(projSize)") }
        return "nn.\(kind.rawValue)(\(args.joined(separator: ", ")))"
    }

    private var cellDescription: String {
        var args = ["\(inputSize)", "\(hiddenSize)"]
        if !bias { args.append("bias=False") }
        if kind == .rnn && nonlinearity != .tanh { args.append("nonlinearity='\(nonlinearity.rawValue)'") }
        return "nn.\(kind.rawValue)Cell(\(args.joined(separator: ", ")))"
    }

    /// The one-layer unidirectional module a cell is run as (the configuration itself when not a cell).
    package var asModule: RecurrentConfiguration {
        var module = self
        module.isCell = false
        return module
    }

    /// Checks the values PyTorch's constructor would reject.
    func validate() throws {
        var problems: [String] = []
        if isCell && (numLayers != 1 || bidirectional || projSize != 0) {
            problems.append("a cell has one layer, one direction and no projection, got num_layers=\(numLayers), bidirectional=\(bidirectional), proj_size=\(projSize)")
        }
        if inputSize < 1 { problems.append("input_size must be ≥ 1, got \(inputSize)") }
        if hiddenSize < 1 { problems.append("hidden_size must be ≥ 1, got \(hiddenSize)") }
        if numLayers < 1 { problems.append("num_layers must be ≥ 1, got \(numLayers)") }
        if projSize < 0 { problems.append("proj_size must be ≥ 0, got \(projSize)") }
        if projSize > 0 && kind != .lstm { problems.append("proj_size is only supported by LSTM") }
        if projSize >= hiddenSize && projSize > 0 {
            problems.append("proj_size (\(projSize)) must be smaller than hidden_size (\(hiddenSize))")
        }
        if !problems.isEmpty {
            throw RNNRTError(.invalidArgument, "invalid \(kind.rawValue) configuration: " + problems.joined(separator: "; "))
        }
    }
}

import RNNRTCore
