/// PyTorch's parameter names for recurrent modules (`weight_ih_l0`, `bias_hh_l1_reverse`, ...) and cells
/// (`weight_ih`, `bias_hh`: no layer or direction suffix): the one place rnnrt spells them.
package enum TorchParameterNames {
    /// The five parameter roles of one layer and direction.
    package enum Role: String, CaseIterable {
        case weightIH = "weight_ih"
        case weightHH = "weight_hh"
        case biasIH = "bias_ih"
        case biasHH = "bias_hh"
        case weightHR = "weight_hr"
    }

    /// `weight_ih_l0`, `bias_hh_l2_reverse`, ...
    package static func name(_ role: Role, layer: Int, reverse: Bool) -> String {
        "\(role.rawValue)_l\(layer)\(reverse ? "_reverse" : "")"
    }

    /// A module's (`weight_ih_l0`) or, when `cell`, a cell's (`weight_ih`) name of `role` for one layer and
    /// direction (a cell has only layer 0 forward).
    package static func name(_ role: Role, layer: Int, reverse: Bool, cell: Bool) -> String {
        cell ? role.rawValue : name(role, layer: layer, reverse: reverse)
    }

    /// The role a cell's parameter name stands for (`weight_ih`, `weight_hh`, `bias_ih`, `bias_hh`), or nil.
    package static func cellRole(_ name: String) -> Role? {
        Role(rawValue: name).flatMap { $0 == .weightHR ? nil : $0 }
    }

    /// Parses a module's parameter name, or when `cell` also a cell's (as layer 0, forward).
    package static func parse(_ name: String, cell: Bool) -> (role: Role, layer: Int, reverse: Bool)? {
        if cell, let role = cellRole(name) { return (role, 0, false) }
        return parse(name)
    }

    /// Whether `name` is a recurrent module's parameter name or a role's bare name (`weight_ih`, ...,
    /// `weight_hr`): what may not sit unbound under a module's or cell's prefix.
    package static func isParameterLike(_ name: String) -> Bool { parse(name) != nil || Role(rawValue: name) != nil }

    /// Whether `name` is a recurrent module's parameter name (`weight_ih_l0`, `bias_hh_l1_reverse`, ...).
    package static func isRecurrentParameter(_ name: String) -> Bool { parse(name) != nil }

    /// Parses `weight_ih_l3_reverse` into its parts, or nil for any other name (the layer has 1–6 digits,
    /// no leading zero). Compares UTF-8 bytes: `hasSuffix` on a substring goes through Foundation's string
    /// search, a noticeable share of binding.
    package static func parse(_ name: String) -> (role: Role, layer: Int, reverse: Bool)? {
        let bytes = Array(name.utf8), reverseSuffix = Array("_reverse".utf8)
        for role in Role.allCases {
            let head = Array((role.rawValue + "_l").utf8)
            guard bytes.starts(with: head) else { continue }
            var digits = bytes[head.count...]
            let reverse = digits.count > reverseSuffix.count && digits.suffix(reverseSuffix.count).elementsEqual(reverseSuffix)
            if reverse { digits = digits.dropLast(reverseSuffix.count) }
            guard (1...6).contains(digits.count), digits.allSatisfy({ (0x30...0x39).contains($0) }),
                  digits.count == 1 || digits.first != 0x30 else { return nil }
            return (role, digits.reduce(0) { $0 * 10 + Int($1 - 0x30) }, reverse)
        }
        return nil
    }

    /// Every parameter a module with this configuration has, with its shape, in `state_dict` order.
    package static func expected(for config: RecurrentConfiguration) -> [(name: String, shape: [Int])] {
        let g = config.kind.gateCount * config.hiddenSize
        var out: [(String, [Int])] = []
        for layer in 0..<config.numLayers {
            let inputWidth = layer == 0 ? config.inputSize : config.directionCount * config.outputSize
            for direction in 0..<config.directionCount {
                func name(_ role: Role, layer: Int, reverse: Bool) -> String {
                    TorchParameterNames.name(role, layer: layer, reverse: reverse, cell: config.isCell)
                }
                let reverse = direction == 1
                out.append((name(.weightIH, layer: layer, reverse: reverse), [g, inputWidth]))
                out.append((name(.weightHH, layer: layer, reverse: reverse), [g, config.outputSize]))
                if config.bias {
                    out.append((name(.biasIH, layer: layer, reverse: reverse), [g]))
                    out.append((name(.biasHH, layer: layer, reverse: reverse), [g]))
                }
                if config.projSize > 0 {
                    out.append((name(.weightHR, layer: layer, reverse: reverse), [config.projSize, config.hiddenSize]))
                }
            }
        }
        return out
    }
}
