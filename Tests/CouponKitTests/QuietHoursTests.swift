import CouponKit
import Foundation
import Postgres
import TestSupport
import Testing

/// When delivery may resume: `quiet_hours_end(at, zone, from, until)` (sql/0010), across midnight
/// and across daylight saving changes, and the `quiet_hours:` text.
@Suite struct QuietHoursTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let at: String
        let zone: String
        let window: String
        let expected: String
        var testDescription: String { name }
    }

    static let cases = [
        Case(name: "just before quiet hours: now", at: "2026-11-23T13:59:00Z", zone: "Asia/Shanghai", window: "22:00-08:00", expected: "2026-11-23T13:59:00Z"),
        Case(name: "at their start: 08:00 next morning", at: "2026-11-23T14:00:00Z", zone: "Asia/Shanghai", window: "22:00-08:00", expected: "2026-11-24T00:00:00Z"),
        Case(name: "after midnight: 08:00 the same morning", at: "2026-11-23T17:30:00Z", zone: "Asia/Shanghai", window: "22:00-08:00", expected: "2026-11-24T00:00:00Z"),
        Case(name: "at their end: now", at: "2026-11-24T00:00:00Z", zone: "Asia/Shanghai", window: "22:00-08:00", expected: "2026-11-24T00:00:00Z"),
        Case(name: "a window within one day", at: "2026-11-23T04:30:00Z", zone: "Asia/Shanghai", window: "12:00-14:00", expected: "2026-11-23T06:00:00Z"),
        Case(name: "outside a window within one day", at: "2026-11-23T07:00:00Z", zone: "Asia/Shanghai", window: "12:00-14:00", expected: "2026-11-23T07:00:00Z"),
        // New York falls back on 2026-11-01 (02:00 EDT -> 01:00 EST): the night is an hour longer.
        Case(name: "fall back: 08:00 EST", at: "2026-11-01T03:00:00Z", zone: "America/New_York", window: "22:00-08:00", expected: "2026-11-01T13:00:00Z"),
        // ... and springs forward on 2026-03-08 (02:00 EST -> 03:00 EDT): an hour shorter.
        Case(name: "spring forward: 08:00 EDT", at: "2026-03-08T04:00:00Z", zone: "America/New_York", window: "22:00-08:00", expected: "2026-03-08T12:00:00Z"),
        Case(name: "an end inside the spring-forward gap: late, never early", at: "2026-03-08T06:30:00Z", zone: "America/New_York", window: "01:00-02:30", expected: "2026-03-08T07:30:00Z"),
    ]

    @Test(arguments: cases)
    func deliveryResumesWhenQuietHoursEnd(_ c: Case) throws {
        let db = try TestDatabase()
        let quiet = try #require(QuietHours(text: c.window))
        let end = try db.connect().query(
            "SELECT quiet_hours_end($1::timestamptz, $2, $3::time, $4::time)", [c.at, c.zone, quiet.fromText, quiet.untilText]
        ).row(0).decode(0, as: Date.self)
        #expect(end == ISO8601DateFormatter().date(from: c.expected))
    }

    @Test(arguments: ["22:00-08:00", "00:00-23:59", "7:00-08:00", "22:00-22:00", "24:00-08:00", "22:00", "22:60-08:00", "22:00-08:00-09:00"])
    func quietHoursTextIsHHMMDashHHMM(_ text: String) {
        let parsed = QuietHours(text: text)
        switch text {
        case "22:00-08:00": #expect(parsed == QuietHours(fromMinute: 22 * 60, untilMinute: 8 * 60))
        case "00:00-23:59": #expect(parsed == QuietHours(fromMinute: 0, untilMinute: 23 * 60 + 59))
        default: #expect(parsed == nil)
        }
    }
}
