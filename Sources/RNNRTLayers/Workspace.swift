import RNNRTKernels

/// Scratch buffers for running a module, grown on demand and reused: a stream that keeps feeding chunks
/// of the same size allocates nothing after its first step.
package final class Workspace {
    private var buffers: [UnsafeMutablePointer<Float>] = []
    private var capacities: [Int] = []

    /// An empty workspace: its buffers are made on first use.
    package init() {}

    /// A second set of buffers for work that runs beside this one (the other direction of a layer).
    package lazy var partner = Workspace()

    /// Buffer number `slot` with room for at least `count` floats (contents unspecified).
    package func buffer(_ slot: Int, count: Int) -> UnsafeMutablePointer<Float> {
        while buffers.count <= slot {
            buffers.append(KernelMemory.allocate(floats: 1))
            capacities.append(1)
        }
        if capacities[slot] < count {
            buffers[slot].deallocate()
            buffers[slot] = KernelMemory.allocate(floats: count)
            capacities[slot] = count
        }
        return buffers[slot]
    }

    deinit {
        for b in buffers { b.deallocate() }
    }

    /// Slot numbers, so that no two users share one by accident.
    enum Slot {
        static let projection = 0   // input projection of a whole sequence, [T·N × G·H]
        static let hiddenPart = 1   // GRU's h·Whhᵀ + b_hh, [N × G·H]
        static let fullHidden = 2   // LSTM with projection: o ⊙ tanh(c) before W_hr, [N × H]
        static let layerOutput = 3  // 3 and 4: ping-pong outputs of inner layers, [T·N × D·Hout]
        static let savedState = 5   // sequence lengths: h of finished rows, kept across a step, [N × Hout]
        static let savedCell = 6    // sequence lengths: c of finished rows, [N × H]
        static let resetHidden = 7  // GRU, reset before the product: r ⊙ h, [N × H]
        static let updateGate = 8   // GRU, reset before the product: z, [N × H]
        static let candidate = 9    // GRU, reset before the product: (r ⊙ h)·R_nᵀ + Rb_n, [N × H]
        static let pairState = 10   // two threads splitting the units: two state buffers, [2 × N × (H + 8)]
    }
}

/// Workspaces kept for reuse by a module or operator that may run on several threads at once.
package typealias WorkspacePool = Pool<Workspace>

extension Pool where Item == Workspace {
    package convenience init() { self.init { Workspace() } }

    /// Runs `body` with a workspace no other run is using.
    package func withWorkspace<R>(_ body: (Workspace) throws -> R) rethrows -> R { try withItem(body) }
}
