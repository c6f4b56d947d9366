import Foundation

/// When the coupons of one template issued at one instant are valid: `[validFrom, expiresAt)`.
///
/// `validity: {days: N}` means N calendar days counting the day of issue, ending at the end of
/// the last day in the template's zone: issued 2026-11-23 10:00 with 7 days, the coupon is
/// valid through 2026-11-29 and `expiresAt` is 2026-11-30 00:00 local. A start delay moves the
/// start to the beginning of the day that many days later. `{from, until}` is valid from the
/// start of `from` to the end of `until`, local.
public struct ValidityWindow: Sendable, Equatable, Codable {
    public let validFrom: Date
    public let expiresAt: Date

    public init(validFrom: Date, expiresAt: Date) {
        self.validFrom = validFrom
        self.expiresAt = expiresAt
    }

    public static func compute(for template: CouponTemplate, issuedAt: Date) -> ValidityWindow {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = template.timeZone
        let issueDay = calendar.startOfDay(for: issuedAt)
        let startDay =
            template.startDelayDays > 0
            ? calendar.date(byAdding: .day, value: template.startDelayDays, to: issueDay) ?? issueDay : issueDay
        let validFrom = template.startDelayDays > 0 ? calendar.startOfDay(for: startDay) : issuedAt
        switch template.validity {
        case .days(let days):
            let end = calendar.date(byAdding: .day, value: days, to: startDay) ?? startDay
            return ValidityWindow(validFrom: validFrom, expiresAt: calendar.startOfDay(for: end))
        case .window(let from, let until):
            let fromDate = calendar.date(from: DateComponents(year: from.year, month: from.month, day: from.day)) ?? issuedAt
            let untilDate = calendar.date(from: DateComponents(year: until.year, month: until.month, day: until.day)) ?? issuedAt
            let end = calendar.date(byAdding: .day, value: 1, to: untilDate) ?? untilDate
            return ValidityWindow(
                validFrom: max(calendar.startOfDay(for: fromDate), validFrom), expiresAt: calendar.startOfDay(for: end))
        }
    }

    /// False when the window is already over at issue time (a fixed window that ended).
    public func isOpen(at date: Date) -> Bool { date < expiresAt && validFrom < expiresAt }
}
