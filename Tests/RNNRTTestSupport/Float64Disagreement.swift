import Foundation
import RNNRT
import Testing

/// The float64 path's disagreement with PyTorch's float64 outputs, the largest seen printed as it grows: the number the
/// README quotes.
public enum Float64Disagreement {
    nonisolated(unsafe) private static var worst: (Double, String) = (0, "")
    private static let lock = NSLock()

    /// Largest |rnnrt float64 − PyTorch float64| over the largest |PyTorch float64|, per output; the largest over the
    /// outputs, recorded at `place`.
    public static func measure(_ ours: [Tensor64], _ torch: [Tensor64], _ place: String) -> Double {
        #expect(ours.count == torch.count, "\(place): \(ours.count) outputs, PyTorch has \(torch.count)")
        var largest = 0.0
        for (k, (a, b)) in zip(ours, torch).enumerated() {
            guard a.shape == b.shape else {
                Issue.record("\(place) output \(k): shape \(a.shape), PyTorch's \(b.shape)")
                continue
            }
            let scale = b.scalars.reduce(0) { max($0, abs($1)) }
            let difference = zip(a.scalars, b.scalars).reduce(0) { max($0, abs($1.0 - $1.1)) }
            largest = max(largest, difference / max(scale, .leastNormalMagnitude))
        }
        record(largest, at: place)
        return largest
    }

    static func record(_ value: Double, at place: String) {
        lock.lock()
        defer { lock.unlock() }
        if value > worst.0 {
            worst = (value, place)
            print("largest |rnnrt float64 − torch float64| / scale so far: \(value) (\(place))")
        }
    }
}
