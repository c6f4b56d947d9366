import CouponKit
import Foundation
import Testing

/// Known answers for the catch-up rules: which due slots run (and as what) and which are skipped.
@Suite("Slot planner")
struct SlotPlannerTests {
    /// 2026-01-05 at `hour`:`minute` UTC.
    static func at(_ hour: Int, _ minute: Int = 0) -> Date {
        Date(timeIntervalSince1970: 1_767_571_200 + Double(hour * 3600 + minute * 60))
    }

    /// Hourly slots 06:00, 07:00, 08:00, 09:00.
    static let hourly = [at(6), at(7), at(8), at(9)]

    /// A decision in a compact form: "R 09:00 schedule", "R 08:00 catch_up" or "S 06:00".
    static func short(_ decisions: [SlotDecision]) -> [String] {
        decisions.map { decision in
            let seconds = Int(decision.slot.timeIntervalSince(at(0)))
            let time = String(format: "%02d:%02d", seconds / 3600, (seconds % 3600) / 60)
            switch decision {
            case .run(_, let trigger): return "R \(time) \(trigger.rawValue)"
            case .skip: return "S \(time)"
            }
        }
    }

    struct Case: Sendable, CustomTestStringConvertible {
        let label: String
        let slots: [Date]
        let now: Date
        let catchUp: CatchUpPolicy
        let deadlineSeconds: Int
        let maxCatchUp: Int
        let expected: [String]
        var testDescription: String { label }
    }

    static let cases: [Case] = [
        Case(
            label: "none: every slot older than the deadline is skipped, the current one runs",
            slots: hourly, now: at(9, 10), catchUp: .none, deadlineSeconds: 3600, maxCatchUp: 24,
            expected: ["S 06:00", "S 07:00", "S 08:00", "R 09:00 schedule"]),
        Case(
            label: "none: missed slots within the deadline run as catch-ups",
            slots: hourly, now: at(9, 10), catchUp: .none, deadlineSeconds: 7200, maxCatchUp: 24,
            expected: ["S 06:00", "S 07:00", "R 08:00 catch_up", "R 09:00 schedule"]),
        Case(
            label: "none: a slot exactly as old as the deadline still runs",
            slots: [at(8), at(9)], now: at(9), catchUp: .none, deadlineSeconds: 3600, maxCatchUp: 24,
            expected: ["R 08:00 catch_up", "R 09:00 schedule"]),
        Case(
            label: "none: the newest slot too is skipped when it is past the deadline",
            slots: [at(9)], now: at(11), catchUp: .none, deadlineSeconds: 3600, maxCatchUp: 24,
            expected: ["S 09:00"]),
        Case(
            label: "latest: only the newest slot runs",
            slots: hourly, now: at(9, 10), catchUp: .latest, deadlineSeconds: 3600, maxCatchUp: 24,
            expected: ["S 06:00", "S 07:00", "S 08:00", "R 09:00 schedule"]),
        Case(
            label: "latest: a late newest slot runs as a catch-up, whatever the deadline",
            slots: hourly, now: at(12), catchUp: .latest, deadlineSeconds: 3600, maxCatchUp: 24,
            expected: ["S 06:00", "S 07:00", "S 08:00", "R 09:00 catch_up"]),
        Case(
            label: "all: every missed slot runs, oldest first",
            slots: hourly, now: at(9, 10), catchUp: .all, deadlineSeconds: 3600, maxCatchUp: 24,
            expected: ["R 06:00 catch_up", "R 07:00 catch_up", "R 08:00 catch_up", "R 09:00 schedule"]),
        Case(
            label: "all: max_catch_up bounds the slots one catch-up runs, the newest kept",
            slots: hourly, now: at(9, 10), catchUp: .all, deadlineSeconds: 3600, maxCatchUp: 2,
            expected: ["S 06:00", "S 07:00", "R 08:00 catch_up", "R 09:00 schedule"]),
        Case(
            label: "all: a late newest slot runs as a catch-up",
            slots: hourly, now: at(12), catchUp: .all, deadlineSeconds: 3600, maxCatchUp: 3,
            expected: ["S 06:00", "R 07:00 catch_up", "R 08:00 catch_up", "R 09:00 catch_up"]),
        Case(
            label: "all: max_catch_up 1 runs only the newest",
            slots: hourly, now: at(9), catchUp: .all, deadlineSeconds: 3600, maxCatchUp: 1,
            expected: ["S 06:00", "S 07:00", "S 08:00", "R 09:00 schedule"]),
    ]

    @Test("Catch-up policies decide known answers", arguments: cases)
    func catchUpPoliciesDecideKnownAnswers(_ c: Case) {
        let decisions = SlotPlanner.decide(
            slots: c.slots, now: c.now, catchUp: c.catchUp, startingDeadlineSeconds: c.deadlineSeconds,
            maxCatchUp: c.maxCatchUp)
        #expect(Self.short(decisions) == c.expected)
        #expect(decisions.map(\.slot) == c.slots)
    }

    @Test("A single slot on time runs as scheduled under every policy", arguments: CatchUpPolicy.allCases)
    func aSingleSlotOnTimeRunsAsScheduledUnderEveryPolicy(_ policy: CatchUpPolicy) {
        let decisions = SlotPlanner.decide(
            slots: [Self.at(9)], now: Self.at(9, 0), catchUp: policy, startingDeadlineSeconds: 60, maxCatchUp: 24)
        #expect(decisions == [.run(slot: Self.at(9), trigger: .schedule)])
    }

    @Test("No due slots, no decisions", arguments: CatchUpPolicy.allCases)
    func noDueSlotsNoDecisions(_ policy: CatchUpPolicy) {
        #expect(
            SlotPlanner.decide(slots: [], now: Self.at(9), catchUp: policy, startingDeadlineSeconds: 60, maxCatchUp: 3)
                .isEmpty)
    }

    @Test func skipReasonsNameThePolicyThatSkipped() {
        let none = SlotPlanner.decide(
            slots: [Self.at(6), Self.at(9)], now: Self.at(9), catchUp: .none, startingDeadlineSeconds: 5400,
            maxCatchUp: 24)
        #expect(none.first == .skip(slot: Self.at(6), reason: "missed by more than starting_deadline 1h30m"))
        let latest = SlotPlanner.decide(
            slots: [Self.at(6), Self.at(9)], now: Self.at(9), catchUp: .latest, startingDeadlineSeconds: 60,
            maxCatchUp: 24)
        #expect(latest.first == .skip(slot: Self.at(6), reason: "missed; catch_up: latest runs only the newest slot"))
        let all = SlotPlanner.decide(
            slots: [Self.at(6), Self.at(9)], now: Self.at(9), catchUp: .all, startingDeadlineSeconds: 60, maxCatchUp: 1)
        #expect(all.first == .skip(slot: Self.at(6), reason: "missed; beyond max_catch_up 1"))
    }

    @Test(arguments: [(0, "0s"), (59, "59s"), (90, "1m30s"), (3600, "1h"), (90_061, "1d1h1m1s")])
    func durationsReadAsUnits(_ seconds: Int, _ text: String) {
        #expect(DurationText.format(seconds: seconds) == text)
    }
}
