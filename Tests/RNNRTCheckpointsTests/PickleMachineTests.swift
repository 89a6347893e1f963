import Testing
@testable import RNNRTCheckpoints
import RNNRTCore
import RNNRTTestSupport

@Suite struct PickleMachineTests {
    private func run(_ bytes: [UInt8]) throws -> (PickleValue, PickleMachine) {
        var m = PickleMachine(bytes)
        let v = try m.run()
        return (v, m)
    }

    @Test func readsScalarsOfEveryEncoding() throws {
        #expect(try run([0x80, 2, 0x4B, 200, 0x2E]).0 == .int(200))
        #expect(try run([0x80, 2, 0x4D, 0x01, 0x02, 0x2E]).0 == .int(0x0201))
        #expect(try run([0x80, 2, 0x4A, 0xFF, 0xFF, 0xFF, 0xFF, 0x2E]).0 == .int(-1))
        #expect(try run([0x80, 2, 0x8A, 2, 0x00, 0x80, 0x2E]).0 == .int(-32768))          // LONG1
        #expect(try run([0x80, 2, 0x47, 0x3F, 0xD0, 0, 0, 0, 0, 0, 0, 0x2E]).0 == .float(0.25))  // BINFLOAT
        #expect(try run([0x80, 4, 0x8C, 2, 0x68, 0x69, 0x94, 0x2E]).0 == .string("hi"))  // SHORT_BINUNICODE, MEMOIZE
        #expect(try run([0x80, 2, 0x88, 0x2E]).0 == .bool(true))
    }

    @Test func memoKeepsSlotsInAnyOrder() throws {
        var memo = PickleMemo()
        memo.set(.int(5), at: 5)        // out of order: kept aside
        for slot in 0..<7 where slot != 5 { memo.set(.int(Int64(slot)), at: slot) }
        memo.set(.int(50), at: 5)       // rewritten in place once the slots before it exist
        memo.set(.int(-1), at: 1 << 40)
        #expect(memo.count == 8)
        #expect((0..<7).map { memo[$0] } == [.int(0), .int(1), .int(2), .int(3), .int(4), .int(50), .int(6)])
        #expect(memo[1 << 40] == .int(-1) && memo[7] == nil && memo[-1] == nil)
        // BINPUT 3 before slots 0–2 exist, then BINGET 3 (what a hand-made stream may do).
        #expect(try run([0x80, 2, 0x4B, 9, 0x71, 3, 0x30, 0x68, 3, 0x2E]).0 == .int(9))
    }

    @Test func dictKeysOfEveryKindReplaceTheirDuplicates() {
        var d = PickleDict()
        d.set(.string("a"), .int(1))
        d.set(.int(1), .int(2))
        d.set(.bool(true), .int(3))   // not Python's 1 == True: distinct keys, as before
        d.set(.string("a"), .int(4))
        d.set(.int(1), .int(5))
        #expect(d.keys == [.string("a"), .int(1), .bool(true)])
        #expect(d.values == [.int(4), .int(5), .int(3)])
    }

    @Test func buildsContainersWithSharedReferences() throws {
        // {'a': [1, 2], 'b': <same list>}
        let bytes: [UInt8] = [0x80, 2, 0x7D, 0x28, 0x58, 1, 0, 0, 0, 0x61, 0x5D, 0x71, 0, 0x28, 0x4B, 1, 0x4B, 2, 0x65,
                              0x58, 1, 0, 0, 0, 0x62, 0x68, 0, 0x75, 0x2E]
        let (v, m) = try run(bytes)
        guard case .dict(let d)? = m.node(of: v) else { Issue.record("not a dict"); return }
        #expect(d.keys == [.string("a"), .string("b")])
        #expect(d.values[0] == d.values[1])
        guard case .list(let items)? = m.node(of: d.values[0]) else { Issue.record("not a list"); return }
        #expect(items == [.int(1), .int(2)])
    }

    @Test(arguments: [("os", "system"), ("builtins", "eval"), ("__builtin__", "exec"), ("subprocess", "Popen"),
                      ("torch", "load"), ("nt", "system"), ("collections", "defaultdict")])
    func refusesGlobalsOutsideTheAllowList(_ module: String, _ name: String) {
        let bytes: [UInt8] = [0x80, 2, 0x63] + Array("\(module)\n\(name)\n".utf8) + [0x29, 0x52, 0x2E]
        let shown = module == "__builtin__" ? "builtins" : module
        expectRNNRTError(.unsafe, containing: ["'\(shown).\(name)'"]) { try run(bytes) }
    }

    @Test func refusesCallingNonGlobals() {
        // A tuple "called" with REDUCE.
        expectRNNRTError(.unsafe) { try run([0x80, 2, 0x29, 0x29, 0x52, 0x2E]) }
    }

    @Test(arguments: [
        [0x80, 2] as [UInt8],                               // no STOP
        [0x80, 2, 0x2E],                                    // STOP on empty stack
        [0x80, 2, 0x61, 0x2E],                              // APPEND on empty stack
        [0x80, 2, 0x4B, 1, 0x61, 0x2E],                     // APPEND to an int
        [0x80, 2, 0x74, 0x2E],                              // TUPLE without MARK
        [0x80, 2, 0x58, 0xFF, 0xFF, 0xFF, 0x7F, 0x2E],      // string longer than the stream
        [0x80, 2, 0x8A, 0xFF, 0x2E],                        // LONG1 past the end
        [0x80, 2, 0x63, 0x6F, 0x73],                        // unterminated GLOBAL line
        [0x80, 2, 0x68, 3, 0x2E],                           // BINGET of an unset slot
        [0x80, 2, 0x4B, 1, 0x28, 0x85, 0x2E],               // TUPLE1 crossing a MARK
    ])
    func rejectsBrokenStreams(_ bytes: [UInt8]) {
        expectRNNRTError(.malformed) { try run(bytes) }
    }

    @Test func deepNestingNeitherRecursesNorCrashes() throws {
        let depth = 200_000
        let bytes: [UInt8] = [0x80, 2] + [UInt8](repeating: 0x5D, count: depth) + [UInt8](repeating: 0x61, count: depth - 1) + [0x2E]
        let (v, m) = try run(bytes)   // builds fine: nodes are flat
        #expect(throws: RNNRTError.self) {
            try TorchCheckpoint.flatten(v, machine: m) { _, _ in }
        }
    }
}

extension RNNRTError.Kind: CustomTestStringConvertible {
    public var testDescription: String { rawValue }
}
