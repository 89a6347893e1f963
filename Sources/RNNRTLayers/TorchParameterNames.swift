/// PyTorch's parameter names for recurrent modules (`weight_ih_l0`, `bias_hh_l1_reverse`, ...): the one
/// place rnnrt spells them.
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

    /// Whether `name` is a recurrent module's parameter name (`weight_ih_l0`, `bias_hh_l1_reverse`, ...).
    package static func isRecurrentParameter(_ name: String) -> Bool { parse(name) != nil }

    /// Parses `weight_ih_l3_reverse` into its parts, or nil for any other name (the layer has 1–6 digits,
    /// no leading zero). Compares UTF-8 bytes: Foundation's string search, which `hasSuffix` on a
    /// substring reached here, was a tenth of a millisecond of binding.
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
    static func expected(for config: RecurrentConfiguration) -> [(name: String, shape: [Int])] {
        let g = config.kind.gateCount * config.hiddenSize
        var out: [(String, [Int])] = []
        for layer in 0..<config.numLayers {
            let inputWidth = layer == 0 ? config.inputSize : config.directionCount * config.outputSize
            for direction in 0..<config.directionCount {
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
