import Foundation

/// The UTC offsets of one time zone over a window of instants, as a list of transitions.
///
/// Segment `i` is the half-open interval `[transitions[i-1], transitions[i])` (segment 0 starts at
/// `start`, the last one ends at `end`) during which the offset is `offsets[i]` seconds.
/// Built from Foundation (`secondsFromGMT(for:)` and `nextDaylightSavingTimeTransition(after:)`),
/// then queried with binary searches only. Immutable, hence `Sendable`.
final class CronZoneTable: Sendable {
    /// Instants (seconds since 1970 UTC) covered: `[start, end)`.
    let start: Int
    let end: Int
    /// Instants at which the offset changes, strictly increasing, all inside `(start, end)`.
    let transitions: [Int]
    /// `offsets.count == transitions.count + 1`.
    let offsets: [Int]
    /// `localEnds[i] == transitions[i] + offsets[i]`: the local time at which segment `i` ends.
    private let localEnds: [Int]

    init(start: Int, end: Int, transitions: [Int], offsets: [Int]) {
        precondition(offsets.count == transitions.count + 1)
        self.start = start
        self.end = end
        self.transitions = transitions
        self.offsets = offsets
        self.localEnds = transitions.indices.map { transitions[$0] + offsets[$0] }
    }

    /// Reads the offsets of `zone` for instants in `[start, end)`.
    convenience init(zone: TimeZone, start: Int, end: Int) {
        var transitions: [Int] = []
        var offsets = [zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(start)))]
        var cursor = Date(timeIntervalSince1970: Double(start))
        let last = Double(end)
        while let transition = zone.nextDaylightSavingTimeTransition(after: cursor),
            transition.timeIntervalSince1970 < last,
            transition > cursor
        {
            let instant = Int(transition.timeIntervalSince1970.rounded(.down))
            let offset = zone.secondsFromGMT(for: Date(timeIntervalSince1970: Double(instant)))
            if offset != offsets[offsets.count - 1], instant > start, instant > (transitions.last ?? .min) {
                transitions.append(instant)
                offsets.append(offset)
            }
            cursor = transition
        }
        self.init(start: start, end: end, transitions: transitions, offsets: offsets)
    }

    func covers(_ lower: Int, _ upper: Int) -> Bool {
        start <= lower && upper < end
    }

    /// Index of the segment containing instant `u` (the number of transitions at or before `u`).
    @inline(__always)
    func segment(containing u: Int) -> Int {
        var low = 0
        var high = transitions.count
        while low < high {
            let mid = (low + high) >> 1
            if transitions[mid] <= u {
                low = mid + 1
            } else {
                high = mid
            }
        }
        return low
    }

    @inline(__always)
    func offset(at u: Int) -> Int {
        offsets[segment(containing: u)]
    }

    /// The first instant whose local time is `local`; for a local time that does not exist
    /// (skipped by a forward transition), the instant that gap ends.
    func firstInstant(local: Int) -> Int {
        // First segment whose local end lies after `local`.
        var low = 0
        var high = localEnds.count
        while low < high {
            let mid = (low + high) >> 1
            if localEnds[mid] <= local {
                low = mid + 1
            } else {
                high = mid
            }
        }
        let offset = offsets[low]
        if low > 0 {
            let transition = transitions[low - 1]
            if local < transition + offset {
                return transition
            }
        }
        return local - offset
    }
}
