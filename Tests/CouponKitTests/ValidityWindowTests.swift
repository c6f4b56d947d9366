import CouponKit
import Foundation
import Testing

/// `ValidityWindow.compute`: N calendar days counting the issue day, ending at local midnight
/// after the last day; a start delay; a fixed window. Known answers written as local times with
/// their offsets, so a table row reads the way a merchant states the rule.
@Suite struct ValidityWindowTests {
    struct Case: Sendable, CustomTestStringConvertible {
        let name: String
        let zone: String
        let validity: CouponValidity
        let startDelayDays: Int
        let issuedAt: String
        let validFrom: String
        let expiresAt: String
        var testDescription: String { name }
    }

    static func day(_ text: String) -> CalendarDay {
        guard let day = CalendarDay(text) else { preconditionFailure("bad day \(text)") }
        return day
    }

    static let cases: [Case] = [
        Case(
            name: "30 days from Jan 31 in Shanghai run through Mar 1 (February has 28 days)", zone: "Asia/Shanghai",
            validity: .days(30), startDelayDays: 0, issuedAt: "2026-01-31T10:00:00+08:00",
            validFrom: "2026-01-31T10:00:00+08:00", expiresAt: "2026-03-02T00:00:00+08:00"),
        Case(
            name: "1 day means the rest of the issue day", zone: "Asia/Shanghai", validity: .days(1), startDelayDays: 0,
            issuedAt: "2026-11-23T23:59:00+08:00", validFrom: "2026-11-23T23:59:00+08:00",
            expiresAt: "2026-11-24T00:00:00+08:00"),
        Case(
            name: "the issue day is the local day, not the UTC one", zone: "Asia/Shanghai", validity: .days(1),
            startDelayDays: 0, issuedAt: "2026-01-31T20:00:00Z", validFrom: "2026-01-31T20:00:00Z",
            expiresAt: "2026-02-02T00:00:00+08:00"),
        Case(
            name: "7 days issued on Dec 28 cross the year", zone: "Asia/Shanghai", validity: .days(7),
            startDelayDays: 0,
            issuedAt: "2026-12-28T09:00:00+08:00", validFrom: "2026-12-28T09:00:00+08:00",
            expiresAt: "2027-01-04T00:00:00+08:00"),
        Case(
            name: "2 days from Feb 28 of a leap year end on Feb 29", zone: "Asia/Shanghai", validity: .days(2),
            startDelayDays: 0, issuedAt: "2028-02-28T12:00:00+08:00", validFrom: "2028-02-28T12:00:00+08:00",
            expiresAt: "2028-03-01T00:00:00+08:00"),
        Case(
            name: "New York across spring-forward ends at EDT midnight", zone: "America/New_York", validity: .days(3),
            startDelayDays: 0, issuedAt: "2026-03-07T10:00:00-05:00", validFrom: "2026-03-07T10:00:00-05:00",
            expiresAt: "2026-03-10T00:00:00-04:00"),
        Case(
            name: "New York across fall-back ends at EST midnight", zone: "America/New_York", validity: .days(2),
            startDelayDays: 0, issuedAt: "2026-10-31T18:00:00-04:00", validFrom: "2026-10-31T18:00:00-04:00",
            expiresAt: "2026-11-02T00:00:00-05:00"),
        Case(
            name: "New York evening is still the previous day there", zone: "America/New_York", validity: .days(1),
            startDelayDays: 0, issuedAt: "2026-03-01T03:00:00Z", validFrom: "2026-03-01T03:00:00Z",
            expiresAt: "2026-03-01T00:00:00-05:00"),
        Case(
            name: "a start delay starts at local midnight and counts days from there", zone: "Asia/Shanghai",
            validity: .days(7), startDelayDays: 2, issuedAt: "2026-11-23T10:00:00+08:00",
            validFrom: "2026-11-25T00:00:00+08:00", expiresAt: "2026-12-02T00:00:00+08:00"),
        Case(
            name: "a start delay across spring-forward in New York", zone: "America/New_York", validity: .days(1),
            startDelayDays: 1, issuedAt: "2026-03-07T22:00:00-05:00", validFrom: "2026-03-08T00:00:00-05:00",
            expiresAt: "2026-03-09T00:00:00-04:00"),
        Case(
            name: "where a day starts at 01:00 (Santiago skips midnight), it ends when the next day starts",
            zone: "America/Santiago", validity: .days(1), startDelayDays: 0, issuedAt: "2026-09-05T10:00:00-04:00",
            validFrom: "2026-09-05T10:00:00-04:00", expiresAt: "2026-09-06T01:00:00-03:00"),
        Case(
            name: "a start delay onto a day without a midnight starts at its first instant", zone: "America/Santiago",
            validity: .days(2), startDelayDays: 1, issuedAt: "2026-09-05T10:00:00-04:00",
            validFrom: "2026-09-06T01:00:00-03:00", expiresAt: "2026-09-08T00:00:00-03:00"),
        Case(
            name: "a fixed window issued before it opens starts at its first local midnight", zone: "Asia/Shanghai",
            validity: .window(from: day("2026-12-01"), until: day("2026-12-31")), startDelayDays: 0,
            issuedAt: "2026-11-20T10:00:00+08:00", validFrom: "2026-12-01T00:00:00+08:00",
            expiresAt: "2027-01-01T00:00:00+08:00"),
        Case(
            name: "a fixed window issued inside it is valid from issue", zone: "Asia/Shanghai",
            validity: .window(from: day("2026-12-01"), until: day("2026-12-31")), startDelayDays: 0,
            issuedAt: "2026-12-10T10:00:00+08:00", validFrom: "2026-12-10T10:00:00+08:00",
            expiresAt: "2027-01-01T00:00:00+08:00"),
        Case(
            name: "a fixed window in New York ends at local midnight after until", zone: "America/New_York",
            validity: .window(from: day("2026-11-01"), until: day("2026-11-01")), startDelayDays: 0,
            issuedAt: "2026-10-20T12:00:00-04:00", validFrom: "2026-11-01T00:00:00-04:00",
            expiresAt: "2026-11-02T00:00:00-05:00"),
    ]

    static func instant(_ text: String) throws -> Date {
        try Date(text, strategy: .iso8601)
    }

    @Test(arguments: cases)
    func windowMatchesTheKnownAnswer(_ c: Case) throws {
        let zone = try #require(TimeZone(identifier: c.zone))
        let template = CouponTemplate(
            key: "t", kind: .cash(offFen: 100), validity: c.validity, startDelayDays: c.startDelayDays, timeZone: zone)
        let window = ValidityWindow.compute(for: template, issuedAt: try Self.instant(c.issuedAt))
        #expect(window.validFrom == (try Self.instant(c.validFrom)))
        #expect(window.expiresAt == (try Self.instant(c.expiresAt)))
        #expect(window.isOpen(at: try Self.instant(c.issuedAt)))
    }

    @Test func aFixedWindowThatEndedBeforeIssueIsNotOpen() throws {
        let template = CouponTemplate(
            key: "t", kind: .cash(offFen: 100),
            validity: .window(from: Self.day("2026-10-01"), until: Self.day("2026-10-31")))
        let issuedAt = try Self.instant("2026-11-01T00:00:00+08:00")
        let window = ValidityWindow.compute(for: template, issuedAt: issuedAt)
        #expect(window.expiresAt == (try Self.instant("2026-11-01T00:00:00+08:00")))
        #expect(!window.isOpen(at: issuedAt))
    }
}
