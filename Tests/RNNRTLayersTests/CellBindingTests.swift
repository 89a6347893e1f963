import Testing
import RNNRTTestSupport
@testable import RNNRTLayers
import RNNRTCore

/// How cells are told from modules by their names and shapes, and the typed errors for cells that are not
/// whole: a missing weight matrix, shapes that disagree, parameters no cell has.
@Suite struct CellBindingTests {
    static let configs = [
        RecurrentConfiguration(kind: .lstm, inputSize: 3, hiddenSize: 5, isCell: true),
        RecurrentConfiguration(kind: .gru, inputSize: 1, hiddenSize: 1, bias: false, isCell: true),
        RecurrentConfiguration(kind: .rnn, inputSize: 4, hiddenSize: 3, isCell: true),
        RecurrentConfiguration(kind: .rnn, inputSize: 4, hiddenSize: 3, bias: false, nonlinearity: .relu, isCell: true),
    ]

    @Test(arguments: configs)
    func infersEveryCellFromNamesAndShapes(_ config: RecurrentConfiguration) throws {
        let sd = try randomStateDict(config, prefix: "decoder.cell.")
        #expect(sd.names.allSatisfy { !$0.contains("_l0") })
        #expect(try RecurrentConfiguration.infer(from: sd, prefix: "decoder.cell.", nonlinearity: config.nonlinearity) == config)
        #expect(RecurrentConfiguration.modulePrefixes(in: sd) == ["decoder.cell."])
        let module = try RecurrentModule(stateDict: sd, nonlinearity: config.nonlinearity)
        #expect(module.prefix == "decoder.cell.")
        #expect(module.parameterCount == sd.tensors.reduce(0) { $0 + $1.tensor.shape.reduce(1, *) })
    }

    @Test func describesCellsAsPyTorchConstructsThem() {
        #expect(CellBindingTests.configs.map(\.torchDescription) == [
            "nn.LSTMCell(3, 5)", "nn.GRUCell(1, 1, bias=False)", "nn.RNNCell(4, 3)",
            "nn.RNNCell(4, 3, bias=False, nonlinearity='relu')"])
        #expect(CellBindingTests.configs[0].asModule.torchDescription == "nn.LSTM(3, 5)")
    }

    /// A cell runs exactly as the one-layer module holding the same tensors under `_l0` names.
    @Test(arguments: configs)
    func runsAsTheOneLayerModule(_ config: RecurrentConfiguration) throws {
        let cellWeights = try randomStateDict(config, seed: 11)
        let moduleWeights = try randomStateDict(config.asModule, seed: 11)
        let cell = try RecurrentModule(stateDict: cellWeights, nonlinearity: config.nonlinearity)
        let module = try RecurrentModule(stateDict: moduleWeights, nonlinearity: config.nonlinearity)
        var rng = SeededGenerator(seed: 3)
        let x = Tensor(shape: [6, 2, config.inputSize], scalars: rng.floats(12 * config.inputSize))
        let (a, b) = (try cell.forward(x), try module.forward(x))
        #expect(a.output.scalars == b.output.scalars && a.hN.scalars == b.hN.scalars && a.hN.shape == [1, 2, config.hiddenSize])
    }

    @Test func missingWeightHHNamesBothMatrices() throws {
        var sd = StateDict()
        try sd.insert(StoredTensor(Tensor(repeating: 0, shape: [20, 3])), named: "dec.lstm_cell.weight_ih")
        try sd.insert(StoredTensor(Tensor(repeating: 0, shape: [20])), named: "dec.lstm_cell.bias_ih")
        for prefix in ["dec.lstm_cell.", ""] {
            expectRNNRTError(.binding, containing: ["incomplete cell under prefix 'dec.lstm_cell.': found 'dec.lstm_cell.weight_ih' [20, 3] but no 'dec.lstm_cell.weight_hh'"]) {
                try RecurrentModule(stateDict: sd, prefix: prefix)
            }
        }
    }

    @Test func inconsistentShapesAreListedWithWhatWasExpected() throws {
        var sd = StateDict()
        try sd.insert(StoredTensor(Tensor(repeating: 0, shape: [20, 3])), named: "cell.weight_ih")
        try sd.insert(StoredTensor(Tensor(repeating: 0, shape: [15, 5])), named: "cell.weight_hh")
        try sd.insert(StoredTensor(Tensor(repeating: 0, shape: [19])), named: "cell.bias_ih")
        try sd.insert(StoredTensor(Tensor(repeating: 0, shape: [20])), named: "cell.bias_hh")
        try sd.insert(StoredTensor(Tensor(repeating: 0, shape: [2, 5])), named: "cell.weight_hr")
        expectRNNRTError(.binding, containing: ["cannot bind nn.LSTMCell(3, 5) to the parameters under 'cell.'",
                                                "'cell.weight_hh' has shape [15, 5], expected [20, 5]",
                                                "'cell.bias_ih' has shape [19], expected [20]", "unexpected 'cell.weight_hr' [2, 5]"]) {
            try RecurrentModule(stateDict: sd)
        }
    }

    @Test func rowsThatFitNoKindAreAClearError() throws {
        var sd = StateDict()
        try sd.insert(StoredTensor(Tensor(repeating: 0, shape: [10, 3])), named: "cell.weight_ih")
        try sd.insert(StoredTensor(Tensor(repeating: 0, shape: [10, 5])), named: "cell.weight_hh")
        expectRNNRTError(.binding, containing: ["cannot tell the cell kind under prefix 'cell.': 'cell.weight_ih' has 10 rows for hidden size 5"]) {
            try RecurrentModule(stateDict: sd)
        }
    }

    @Test func aCellHasOneLayerAndDirection() throws {
        let config = RecurrentConfiguration(kind: .gru, inputSize: 2, hiddenSize: 3, numLayers: 2, isCell: true)
        expectRNNRTError(.invalidArgument, containing: ["a cell has one layer, one direction and no projection, got num_layers=2"]) {
            try RecurrentModule(configuration: config, stateDict: StateDict())
        }
    }

    @Test func reluOnlyForRNNCells() throws {
        let sd = try randomStateDict(RecurrentConfiguration(kind: .gru, inputSize: 2, hiddenSize: 3, isCell: true))
        let error = #expect(throws: RNNRTError.self) { try RecurrentModule(stateDict: sd, nonlinearity: .relu) }
        #expect(error?.message.contains("is an GRU cell") == true, "\(error?.message ?? "")")
    }

    @Test func cellStateOfTheWrongShapeNamesBothForms() throws {
        let m = try RecurrentModule(stateDict: randomStateDict(CellBindingTests.configs[0]))
        expectRNNRTError(.shapeMismatch, containing: ["expected [1, 2, 5]", "or [2, 5] as a cell takes it"]) {
            try m.forward(Tensor(repeating: 0, shape: [4, 2, 3]), h0: Tensor(repeating: 0, shape: [2, 4]))
        }
    }

    @Test func aModuleAndACellInOneFileAreTwoModules() throws {
        var sd = try randomStateDict(RecurrentConfiguration(kind: .lstm, inputSize: 3, hiddenSize: 4), prefix: "encoder.")
        for (name, t) in try randomStateDict(CellBindingTests.configs[0], prefix: "decoder.").tensors {
            try sd.insert(t, named: name)
        }
        #expect(RecurrentConfiguration.modulePrefixes(in: sd) == ["encoder.", "decoder."])
        #expect(throws: RNNRTError.self) { try RecurrentModule(stateDict: sd) }
        #expect(try RecurrentModule(stateDict: sd, prefix: "decoder.").configuration.isCell)
        #expect(try !RecurrentModule(stateDict: sd, prefix: "encoder.").configuration.isCell)
    }
}
