import ArgumentParser
import RNNRT

/// `--memory-limit` and `--time-limit`, shared by run, verify and bench: what each forward pass may use. The
/// defaults stop a model that asks for far more than a real one needs before it takes the machine: 4 GiB and 600 s.
struct LimitOptions: ParsableArguments {
    @Option(name: .customLong("memory-limit"),
            help: ArgumentHelp("Most memory the values of one forward pass may hold: bytes, or a number with K, M, G or T (powers of 1024: 512M, 2G); 'none' for no limit.",
                               valueName: "SIZE"))
    var memoryLimit = MemoryLimit(bytes: 4 << 30, text: "4G")

    @Option(name: .customLong("time-limit"),
            help: ArgumentHelp("Most seconds one forward pass may take; 'none' for no limit.", valueName: "SECONDS"))
    var timeLimit = TimeLimit(seconds: 600, text: "600")

    /// Run options with these limits and `threads` (nil: every core).
    func options(threads: Int? = nil) -> RunOptions {
        RunOptions(threads: threads ?? RunOptions.cores, memoryLimit: memoryLimit.bytes, timeLimit: timeLimit.seconds)
    }

    /// The flag that sets the limit `error` reports, as the user wrote it, to add to its message; "" for other errors.
    static func flag(for error: RNNRTError) -> String {
        guard error.kind == .limit else { return "" }
        if error.message.contains("memory limit") { return " (--memory-limit)" }
        if error.message.contains("time limit") { return " (--time-limit)" }
        return ""
    }
}

/// A `--memory-limit` value: `512M`, `2G`, `1.5G`, `2GiB`, plain bytes, or `none`.
struct MemoryLimit: ExpressibleByArgument, CustomStringConvertible {
    let bytes: Int?
    let text: String

    init(bytes: Int?, text: String) {
        self.bytes = bytes
        self.text = text
    }

    init?(argument: String) {
        var s = argument.lowercased()
        guard s != "none" else {
            self.init(bytes: nil, text: argument)
            return
        }
        if s.hasSuffix("ib") { s.removeLast(2) } else if s.hasSuffix("b") { s.removeLast() }
        var multiplier = 1.0
        if let unit = s.last, let power = ["k": 10.0, "m": 20.0, "g": 30.0, "t": 40.0][String(unit)] {
            multiplier = Double(1 << Int(power))
            s.removeLast()
        }
        guard let value = Double(s), value.isFinite, value >= 0, value * multiplier < 9e18 else { return nil }
        self.init(bytes: Int((value * multiplier).rounded()), text: argument)
    }

    var description: String { text }
}

/// A `--time-limit` value: seconds (`600`, `0.5`) or `none`.
struct TimeLimit: ExpressibleByArgument, CustomStringConvertible {
    let seconds: Double?
    let text: String

    init(seconds: Double?, text: String) {
        self.seconds = seconds
        self.text = text
    }

    init?(argument: String) {
        if argument.lowercased() == "none" {
            self.init(seconds: nil, text: argument)
            return
        }
        let number = argument.hasSuffix("s") ? String(argument.dropLast()) : argument
        guard let value = Double(number), value.isFinite, value > 0 else { return nil }
        self.init(seconds: value, text: argument)
    }

    var description: String { text }
}
