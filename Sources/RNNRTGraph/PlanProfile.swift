/// Where a plan's time goes: the time spent in each node over the runs that record into it
/// (`Plan.run(_:profile:)`), what `rnnrt bench --profile` prints.
///
/// A node inside an `If` or `Loop` body is recorded under its own path (the enclosing node's label, then its own);
/// an enclosing node keeps only its own time, its bodies' nodes excluded, so the times add up to the runs' time.
/// One profile records one run at a time (it is not for concurrent runs).
package final class PlanProfile: @unchecked Sendable {
    /// One node's record.
    package struct Entry: Sendable {
        /// The node's label, after those of the nodes whose bodies hold it (`If node 'a' › LSTM node 'b'`).
        package let path: String
        package let opType: String
        /// How many times it ran (a `Loop` body's nodes once per iteration).
        package fileprivate(set) var calls: Int
        package fileprivate(set) var seconds: Double
    }

    /// Time per operator type.
    package struct OperatorTotal: Sendable {
        package let opType: String
        /// Distinct nodes of this type that ran.
        package let nodes: Int
        package let seconds: Double
    }

    /// A step of a plan, run inside the node of entry `parent` (−1 at the top).
    private struct StepKey: Hashable {
        let parent: Int
        let plan: ObjectIdentifier
        let step: Int
    }

    /// Entries in the order each first ran, and each step's entry.
    private var entries: [Entry] = []
    private var index: [StepKey: Int] = [:]
    /// The entries of the nodes running now, outermost first.
    private var path: [Int] = []
    /// Time recorded so far, in every entry: what a node's bodies recorded while it ran is this difference.
    private var recorded: Duration = .zero
    /// Completed top-level runs.
    package private(set) var runs = 0
    /// Steps whose values a run took from the run before it instead of running them (`ShapeMemo`), over all runs.
    package private(set) var stepsTakenFromShapes = 0

    package init() {}

    /// Every node that ran, in the order each first ran.
    package var nodes: [Entry] { entries }

    /// Seconds over every node and run.
    package var totalSeconds: Double { nodes.reduce(0) { $0 + $1.seconds } }

    /// Time per operator type, the largest first.
    package var operatorTotals: [OperatorTotal] {
        Dictionary(grouping: nodes, by: \.opType)
            .map { OperatorTotal(opType: $0.key, nodes: $0.value.count, seconds: $0.value.reduce(0) { $0 + $1.seconds }) }
            .sorted { $0.seconds > $1.seconds }
    }

    /// Runs `body` as step `step` of `plan` (node `node`) and records its own time.
    func measure<T>(_ plan: Plan, step: Int, _ node: GraphNode, _ body: () throws -> T) rethrows -> T {
        let parent = path.last ?? -1
        let key = StepKey(parent: parent, plan: ObjectIdentifier(plan), step: step)
        let index: Int
        if let known = self.index[key] {
            index = known
        } else {
            index = entries.count
            let prefix = parent < 0 ? "" : entries[parent].path + " › "
            entries.append(Entry(path: prefix + node.label, opType: node.opType, calls: 0, seconds: 0))
            self.index[key] = index
        }
        path.append(index)
        let before = recorded
        let clock = ContinuousClock()
        let start = clock.now
        defer {
            let total = clock.now - start
            let own = total - (recorded - before)
            recorded = before + total
            path.removeLast()
            entries[index].calls += 1
            entries[index].seconds += Double(own.components.seconds) + Double(own.components.attoseconds) * 1e-18
        }
        return try body()
    }

    /// Counts one completed top-level run.
    func finishRun() { runs += 1 }

    /// Counts one step whose values the run took from the run before it.
    func tookFromShapes() { stepsTakenFromShapes += 1 }
}
