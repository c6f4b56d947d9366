import Foundation

/// What to do with each slot that came due since a job was last considered.
public enum SlotDecision: Sendable, Equatable {
    case run(slot: Date, trigger: RunTrigger)
    case skip(slot: Date, reason: String)

    public var slot: Date {
        switch self {
        case .run(let slot, _), .skip(let slot, _): return slot
        }
    }
}

/// Applies a job's catch-up policy to its due slots. Pure, so its rules are tested directly.
///
/// The newest due slot is the current one; every older slot was missed (no runner was up).
/// - `none`: a slot more than `starting_deadline` old is skipped; younger ones run.
/// - `latest`: only the newest slot runs (as a catch-up when it is itself late); the rest are skipped.
/// - `all`: every missed slot runs once, the newest `max_catch_up` of them; older ones are skipped.
public enum SlotPlanner {
    public static func decide(
        slots: [Date], now: Date, catchUp: CatchUpPolicy, startingDeadlineSeconds: Int, maxCatchUp: Int
    ) -> [SlotDecision] {
        guard let newest = slots.last else { return [] }
        let deadline = Double(startingDeadlineSeconds)
        func late(_ slot: Date) -> Bool { now.timeIntervalSince(slot) > deadline }
        let deadlineText = DurationText.format(seconds: startingDeadlineSeconds)
        var decisions: [SlotDecision] = []
        switch catchUp {
        case .none:
            for slot in slots {
                if late(slot) {
                    decisions.append(.skip(slot: slot, reason: "missed by more than starting_deadline \(deadlineText)"))
                } else {
                    decisions.append(.run(slot: slot, trigger: slot == newest ? .schedule : .catchUp))
                }
            }
        case .latest:
            for slot in slots.dropLast() {
                decisions.append(.skip(slot: slot, reason: "missed; catch_up: latest runs only the newest slot"))
            }
            decisions.append(.run(slot: newest, trigger: late(newest) ? .catchUp : .schedule))
        case .all:
            let keep = max(1, maxCatchUp)
            for (index, slot) in slots.enumerated() {
                if index < slots.count - keep {
                    decisions.append(.skip(slot: slot, reason: "missed; beyond max_catch_up \(maxCatchUp)"))
                } else if slot == newest && !late(slot) {
                    decisions.append(.run(slot: slot, trigger: .schedule))
                } else {
                    decisions.append(.run(slot: slot, trigger: .catchUp))
                }
            }
        }
        return decisions
    }
}

/// `1h30m`-style text for durations in messages.
public enum DurationText {
    public static func format(seconds: Int) -> String {
        if seconds == 0 { return "0s" }
        var rest = seconds
        var text = ""
        for (unit, size) in [("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)] where rest >= size {
            text += "\(rest / size)\(unit)"
            rest %= size
        }
        return text
    }
}
